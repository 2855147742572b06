"""One plain sentence per lead, Chinese first then English, from the templates in the indicator ymls.

An indicator's yml carries `explain_zh` and `explain_en`: text with placeholders that are filled from
the flag's evidence JSON and its columns, e.g.

    explain_zh: "该店铺 {window_start|md_zh}起标示原价 {shown_reference_price|money} 元，……"

A placeholder is `{name}` or `{name|format}`. `name` is an evidence key (first) or a flag column
(`value`, `threshold`, `window_start`, …); `name.0` takes a list's first item. The formats are the
keys of FORMATS below. A value that is missing prints as "—", so a sentence never breaks on a
partial record; a template naming a key the SQL does not produce is caught by tests/report.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache

from indicators.registry import load_catalogue

PLACEHOLDER = re.compile(r"\{([a-z0-9_.]+)(?:\|([a-z0-9_]+))?\}")
MISSING = "—"

# Coded evidence values in words (Chinese, English); an unknown code prints with spaces for underscores.
VALUE_LABELS = {
    "lowest_7d": ("促销前七日最低成交价", "lowest price traded in the 7 days before the promotion"),
    "last_trade": ("促销前最后一次成交价", "last price traded before the promotion"),
    "in_window": ("促销前30日内最低价", "lowest price in the 30 days before"),
    "carried_forward": ("促销前30日前最后一次报价", "last price offered before the 30 days"),
    "new": ("新用户", "new customers"), "existing": ("老用户", "existing customers"),
    "vip": ("会员", "members"), "control": ("对照", "control"),
    # platform ids of the price feed (competition.exclusive_dealing names the platforms by id)
    "tmall": ("天猫", "Tmall"), "jd": ("京东", "JD.com"), "pdd": ("拼多多", "Pinduoduo"),
    "meituan_youxuan": ("美团优选", "Meituan Youxuan"), "douyin": ("抖音电商", "Douyin"),
    "taobao": ("淘宝", "Taobao"), "kuaishou": ("快手电商", "Kuaishou"),
    # how quality.failed_sample_on_sale matched a listing to the sampled product
    "sku_id": ("商品编号相同", "same SKU id"), "name_model": ("产品名称和型号相同", "same product name and model"),
}


def number_or_none(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def as_date(v) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _num(v) -> str:
    x = number_or_none(v)
    if x is None:
        return MISSING
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _pct(v, digits: int = 0) -> str:
    x = number_or_none(v)
    return MISSING if x is None else f"{x * 100:.{digits}f}%"


def _excess(v) -> str:
    """A ratio read as 'higher by': 1.51 -> 51%."""
    x = number_or_none(v)
    return MISSING if x is None else f"{(x - 1) * 100:.0f}%"


def _pvalue(v) -> str:
    x = number_or_none(v)
    if x is None:
        return MISSING
    return "不足万分之一 < 0.0001" if x < 1e-4 else f"{x:.2g}"


def _label(v, lang: int) -> str:
    if isinstance(v, list):
        return "、".join(_label(x, lang) for x in v) if lang == 0 else ", ".join(_label(x, lang) for x in v)
    text = str(v)
    return VALUE_LABELS.get(text, (text.replace("_", " "),) * 2)[lang]


def _md_zh(v) -> str:
    d = as_date(v)
    return MISSING if d is None else f"{d.month}月{d.day}日"


def _md_en(v) -> str:
    d = as_date(v)
    return MISSING if d is None else d.strftime("%d %b").lstrip("0")


def _time(v) -> str:
    text = str(v)
    return text[5:16] if len(text) >= 16 else text  # "2026-11-01 10:11:12" -> "11-01 10:11"


def _int(v) -> str:
    x = number_or_none(v)
    return MISSING if x is None else f"{x:,.0f}"


def _money(v) -> str:
    x = number_or_none(v)
    return MISSING if x is None else f"{x:,.2f}"


FORMATS = {
    "money": _money, "int": _int, "num": _num, "pct": _pct, "pct1": lambda v: _pct(v, 1), "excess": _excess,
    "p": _pvalue, "md_zh": _md_zh, "md_en": _md_en, "date": lambda v: str(as_date(v) or MISSING), "time": _time,
    "count": lambda v: str(len(v)) if isinstance(v, list) else MISSING,
    "label_zh": lambda v: _label(v, 0), "label_en": lambda v: _label(v, 1), "text": lambda v: str(v)[:40],
}


def _lookup(name: str, evidence: dict, flag: dict):
    head, *rest = name.split(".")
    v = evidence.get(head, flag.get(head))
    for part in rest:
        if isinstance(v, list) and part.isdigit() and int(part) < len(v):
            v = v[int(part)]
        else:
            return None
    return v


def fill(template: str, evidence: dict, flag: dict) -> str:
    """The template with its placeholders replaced by formatted values."""
    def one(m: re.Match) -> str:
        v = _lookup(m.group(1), evidence, flag)
        if v is None or v == []:
            return MISSING
        fmt = m.group(2)
        if fmt is None:
            return FORMATS["num"](v) if isinstance(v, float) else str(v)[:40]
        return FORMATS[fmt](v)
    return PLACEHOLDER.sub(one, template)


def placeholders(template: str) -> list[tuple[str, str | None]]:
    """(name, format) of every placeholder: what the tests check against the SQL's evidence keys."""
    return PLACEHOLDER.findall(template)


@cache
def templates() -> dict[str, tuple[str, str]]:
    """Indicator id -> (Chinese template, English template), for the indicators that have them."""
    out = {}
    for ind in load_catalogue():
        zh, en = ind.metadata.get("explain_zh"), ind.metadata.get("explain_en")
        if zh and en:
            out[ind.id] = (zh, en)
    return out


def evidence_of(flag: dict) -> dict:
    try:
        ev = json.loads(flag.get("evidence") or "")
    except (TypeError, ValueError):
        return {}
    return ev if isinstance(ev, dict) else {}


def explain(flag: dict) -> tuple[str, str] | None:
    """(Chinese sentence, English sentence) of a lead, or None when its indicator has no template."""
    found = templates().get(flag.get("indicator_id") or "")
    if found is None:
        return None
    ev = evidence_of(flag)
    return fill(found[0], ev, flag), fill(found[1], ev, flag)


def cell_shop_ids(evidence: dict) -> list[str]:
    """The shops a collusion lead's cell names: its shop list, or the shops of its parallel pairs."""
    shops = list(evidence.get("shop_ids") or [])
    for pair in evidence.get("parallel_pair_list") or []:
        if isinstance(pair, dict):
            shops += [pair.get("shop_a"), pair.get("shop_b")]
    return [str(s) for s in dict.fromkeys(shops) if s]
