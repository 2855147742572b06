"""The public registers: the shop registry (with the Olist sellers file) as shops open, and the credit
lists — administrative penalties (two publication formats), the abnormal-operations list (经营异常名录)
and the serious-violation list (严重违法失信名单) — drawn once as dated events, history included.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fmt
from .ids import make_uscc, uscc_check_char
from .landing import (
    ABNORMAL_COLS,
    PENALTY_V1,
    PENALTY_V2,
    REGISTRY_COLS,
    SERIOUS_COLS,
    Landing,
)
from .sinks import Sink
from .world import CITY_CODES, CITY_NAMES, CITY_SHORT, PLATFORM_IDS, World, zip_prefix

NOT_REMOVED = 10**6   # removal day of a list entry that is still listed
ABNORMAL_REASONS = np.array(["未依照规定的期限公示年度报告", "通过登记的住所或者经营场所无法联系",
                             "公示企业信息隐瞒真实情况、弄虚作假", "未在责令的期限内公示有关企业信息"])
VIOLATIONS = np.array(["虚构原价", "虚假宣传", "不明码标价", "销售不合格产品", "虚构交易", "价格欺诈"])
SURNAMES = np.array(["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "孙", "马"])
GIVEN = np.array(["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"])
PENALTY_GROUPS = ("pen_heavy", "pen_small", "pen_window")
ABNORMAL_GROUPS = ("abn_current", "abn_removed_window", "abn_removed_old")
SERIOUS_GROUPS = ("serious", "serious_window")


def draw_events(w: World, days: int, seed: int) -> dict[str, np.ndarray]:
    """Penalties and list entries: per group, the enterprises and their day offsets (history < 0),
    fines (`_amt`, 万元) and removal days (`_rt`). Planted enterprises are left out."""
    rng = np.random.default_rng([seed, 5])
    n_ent = len(w.ent_uscc)
    has_shop = np.zeros(n_ent, bool)
    has_shop[w.shop_ent] = True
    plant_ent = np.zeros(n_ent, bool)
    plant_ent[w.shop_ent[w.shop_plant != ""]] = True
    pool = np.flatnonzero(has_shop & ~plant_ent)
    perm = rng.permutation(pool)
    m = len(pool)

    def cut(a, b):
        return perm[int(a * m):int(b * m)]

    ev = {}
    last = days - 1
    ev["serious"] = cut(0.00, 0.015)
    ev["abn_current"] = cut(0.015, 0.055)
    ev["abn_removed_window"] = cut(0.055, 0.075)
    ev["abn_removed_old"] = cut(0.075, 0.09)
    ev["pen_heavy"] = cut(0.09, 0.105)
    ev["pen_small"] = cut(0.105, 0.17)
    ev["pen_window"] = cut(0.17, 0.17 + min(0.05, 0.003 * max(1, days)))
    ev["serious_window"] = perm[int(0.17 * m) - 1:int(0.17 * m)] if m > 20 else perm[:0]
    # dates
    ev["serious_t"] = -rng.integers(40, 700, len(ev["serious"]))
    ev["serious_window_t"] = np.full(len(ev["serious_window"]), min(last, max(0, days // 2)))
    ev["abn_current_t"] = -rng.integers(40, 700, len(ev["abn_current"]))
    ev["abn_removed_window_t"] = -rng.integers(40, 400, len(ev["abn_removed_window"]))
    ev["abn_removed_window_rt"] = rng.integers(0, max(1, days), len(ev["abn_removed_window"]))
    ev["abn_removed_old_t"] = -rng.integers(300, 700, len(ev["abn_removed_old"]))
    ev["abn_removed_old_rt"] = ev["abn_removed_old_t"] + rng.integers(60, 200, len(ev["abn_removed_old"]))
    ev["pen_heavy_t"] = -rng.integers(40, 700, len(ev["pen_heavy"]))
    ev["pen_heavy_amt"] = np.round(rng.uniform(12, 60, len(ev["pen_heavy"])), 2)
    ev["pen_small_t"] = -rng.integers(40, 700, len(ev["pen_small"]))
    ev["pen_small_amt"] = np.round(rng.uniform(0.2, 3, len(ev["pen_small"])), 2)
    ev["pen_window_t"] = rng.integers(0, max(1, days), len(ev["pen_window"]))
    ev["pen_window_amt"] = np.round(rng.uniform(0.2, 3, len(ev["pen_window"])), 2)
    return ev


def _gather(ev: dict, groups: tuple[str, ...], chosen, fields: tuple[str, ...]) -> list[np.ndarray]:
    """For the entries of `groups` that `chosen(group)` selects: the enterprises, then each field."""
    out = []
    for f in ("", *fields):
        out.append(np.concatenate([ev[g + f][chosen(g)] for g in groups]))
    return out


def _authorities(city: np.ndarray) -> np.ndarray:
    return np.char.add(CITY_NAMES[city], "市场监督管理局")


def _slash(days) -> pa.Array:
    return pc.replace_substring(fmt.dates(days), "-", "/")


class Registers:
    def __init__(self, w: World, landing: Landing, days: int, seed: int):
        self.w = w
        self.landing = landing
        self.seed = seed
        self.e0 = fmt.epoch_day(landing.start)
        self.events = draw_events(w, days, seed)

    def shops_opened(self, t: int, sinks: dict[str, Sink]) -> None:
        """Registry and Olist sellers rows of the shops opening on day t (day 0: every shop open by then)."""
        w = self.w
        sel = np.flatnonzero(w.shop_open <= 0) if t == 0 else np.flatnonzero(w.shop_open == t)
        if len(sel) == 0:
            return
        city = w.shop_city[sel]
        self.landing.sellers_sink(t, sinks).write({
            "seller_id": w.shop_id[sel], "seller_zip_code_prefix": zip_prefix(city),
            "seller_city": CITY_NAMES[city], "seller_state": "辽宁"})
        ent = w.shop_ent[sel]
        self.landing.write_file("registry", t, REGISTRY_COLS, {
            "platform": PLATFORM_IDS[w.shop_plat[sel]], "shop_id": w.shop_id[sel], "shop_name": w.shop_name[sel],
            "统一社会信用代码": w.ent_uscc[ent], "企业名称": w.ent_name[ent], "行政区划代码": CITY_CODES[city],
            "成立日期": w.ent_est[ent].astype(str)}, encoding="gbk")

    def day(self, t: int) -> None:
        """Write the register rows of day t's drop: the first drop holds the whole history, dated as it
        happened; a later drop holds the day's events (nothing is written for history days t < 0)."""
        if t < 0:
            return
        ev = self.events
        first = t == 0

        def on_drop(group):
            return (ev[group + "_t"] <= 0) if first else (ev[group + "_t"] == t)

        ents, ts, amts = _gather(ev, PENALTY_GROUPS, on_drop, ("_t", "_amt"))
        if len(ents):
            self._penalties(t, ents, ts, amts, v1=(t % 2 == 1))
        self._abnormal(t, first)
        ents, ts = _gather(ev, SERIOUS_GROUPS, on_drop, ("_t",))
        if len(ents):
            self._serious(t, ents, ts)

    def _abnormal(self, t: int, first: bool) -> None:
        """The first drop holds every entry listed up to D (removal filled in when it happened before D);
        a later removal arrives as an update row with the same (uscc, 列入日期)."""
        ev, w = self.events, self.w
        es, ls, rs = [], [], []
        for key in ABNORMAL_GROUPS:
            lt_ = ev[key + "_t"]
            rt_ = ev.get(key + "_rt", np.full(len(lt_), NOT_REMOVED))
            s = (lt_ <= 0) if first else (rt_ == t)
            es.append(ev[key][s])
            ls.append(lt_[s])
            rs.append(np.where(rt_[s] <= t, rt_[s], NOT_REMOVED))
        e, lt, rt = np.concatenate(es), np.concatenate(ls), np.concatenate(rs)
        if not len(e):
            return
        removed = pa.array(rt < NOT_REMOVED)
        auth = _authorities(w.ent_city[e])
        nul = pa.nulls(len(e), pa.string())
        self.landing.write_file("abnormal_operations", t, ABNORMAL_COLS, {
            "统一社会信用代码": w.ent_uscc[e], "企业名称": w.ent_name[e],
            "列入经营异常名录原因": ABNORMAL_REASONS[e % len(ABNORMAL_REASONS)],
            "列入日期": _slash(self.e0 + lt), "作出决定机关": auth,
            "移出经营异常名录原因": pc.if_else(removed, pa.scalar("已依照规定履行公示义务"), nul),
            "移出日期": pc.if_else(removed, _slash(self.e0 + np.where(rt < NOT_REMOVED, rt, 0)), nul),
            "移出决定机关": pc.if_else(removed, pa.array(auth), nul)}, encoding="gbk")

    def _serious(self, t: int, ents: np.ndarray, ts: np.ndarray) -> None:
        w = self.w
        self.landing.write_file("serious_violations", t, SERIOUS_COLS, {
            "统一社会信用代码": w.ent_uscc[ents], "企业名称": w.ent_name[ents],
            "列入原因": np.where(ents % 2 == 0, "被列入经营异常名录届满3年仍未履行相关义务", "提供虚假材料或者隐瞒重要事实"),
            "列入日期": fmt.dates(self.e0 + ts), "作出决定机关": _authorities(w.ent_city[ents]), "移出日期": None},
            bom=True)

    def _penalties(self, t: int, ents: np.ndarray, ts: np.ndarray, amts: np.ndarray, v1: bool) -> None:
        """Penalty decisions, in the older (v1, GBK) publication format on odd days, the newer (v2) otherwise."""
        w = self.w
        n = len(ents)
        city = w.ent_city[ents]
        day = self.e0 + ts
        year = np.asarray(day).astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
        docno = fmt.join(CITY_SHORT[city].astype("U1"), "市监处罚〔", fmt.ints(year), "〕",
                         fmt.ints(1000 + ents), "号")
        auth = _authorities(city)
        vio = VIOLATIONS[ents % len(VIOLATIONS)]
        if v1:
            rep = np.char.add(SURNAMES[ents % len(SURNAMES)], GIVEN[(ents // 7) % len(GIVEN)])
            dd = np.asarray(day).astype("datetime64[D]")
            cn_date = fmt.join(fmt.ints(year), "年", fmt.ints(dd.astype("datetime64[M]").astype(int) % 12 + 1), "月",
                               fmt.ints((dd - dd.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1), "日")
            self.landing.write_file("penalties", t, PENALTY_V1, {
                "行政处罚决定书文号": docno, "处罚名称": np.char.add(vio, "案"), "处罚类别1": "罚款",
                "处罚类别2": None, "处罚事由": np.char.add("当事人存在", vio), "处罚依据": "《中华人民共和国价格法》第十四条",
                "行政相对人名称": w.ent_name[ents], "统一社会信用代码": w.ent_uscc[ents], "法定代表人姓名": rep,
                "处罚结果": fmt.join("罚款人民币", fmt.dec(amts, 2), "万元"), "处罚决定日期": cn_date,
                "处罚机关": auth, "当前状态": "正常", "地方编码": CITY_CODES[city],
                "数据更新时间戳": fmt.timestamps(day, np.full(n, 9 * 3600))}, encoding="gbk")
        else:
            self.landing.write_file("penalties", t, PENALTY_V2, {
                "行政相对人名称": w.ent_name[ents], "行政相对人类别": "法人及非法人组织",
                "行政相对人代码_1(统一社会信用代码)": w.ent_uscc[ents], "行政处罚决定书文号": docno,
                "违法行为类型": vio, "违法事实": np.char.add("经查，当事人在网络销售中存在", vio),
                "处罚依据": "《明码标价和禁止价格欺诈规定》第十九条", "处罚类别": "罚款",
                "处罚内容": fmt.join("罚款", fmt.dec(amts, 2), "万元"), "罚款金额(万元)": fmt.dec(amts, 4),
                "没收违法所得、没收非法财物的金额(万元)": "0", "处罚决定日期": fmt.dates(day),
                "处罚有效期": fmt.dates(day + 365), "公示截止期": fmt.dates(day + 3 * 365), "处罚机关": auth,
                "处罚机关统一社会信用代码": self._authority_uscc()[city], "数据来源单位": auth})

    def _authority_uscc(self) -> np.ndarray:
        """The USCC of each city's market regulator (organ code '11' instead of an enterprise's '91')."""
        uscc = make_uscc(np.random.default_rng([self.seed, 6]), CITY_CODES)
        uscc = np.char.add("11", np.array([u[2:] for u in uscc]))
        return np.array([u[:17] + uscc_check_char(u[:17]) for u in uscc])
