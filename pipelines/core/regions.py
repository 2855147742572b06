"""Liaoning's 14 prefecture-level cities by 行政区划代码 (GB/T 2260)."""

LIAONING_CITIES = {
    "210100": ("沈阳市", "Shenyang"),
    "210200": ("大连市", "Dalian"),
    "210300": ("鞍山市", "Anshan"),
    "210400": ("抚顺市", "Fushun"),
    "210500": ("本溪市", "Benxi"),
    "210600": ("丹东市", "Dandong"),
    "210700": ("锦州市", "Jinzhou"),
    "210800": ("营口市", "Yingkou"),
    "210900": ("阜新市", "Fuxin"),
    "211000": ("辽阳市", "Liaoyang"),
    "211100": ("盘锦市", "Panjin"),
    "211200": ("铁岭市", "Tieling"),
    "211300": ("朝阳市", "Chaoyang"),
    "211400": ("葫芦岛市", "Huludao"),
}
