"""双随机抽查 results (source `inspection_results`): the 一公开 round trip of the `inspection_sample` draw.

The pipeline draws merchants every run day (indicators/marts/inspection_sample.sql); the follow-up mart matches a
draw with a result of the same USCC dated on or after the draw. The generator does not replay the draw: it
inspects most enterprises of the register during the run, as a city's task would: one task per city
(检查任务编号 `<city code>-SJ-<year>-<nn>`), inspections dated from the task's start (a third of the way into the
run, a day later for every third city) to the last day. So merchants drawn early get a result; merchants drawn
late, and the `NO_RESULT_SHARE` never inspected, stay open (overdue once `inspection.followup_days` passes).

Results use the wording of the 国家企业信用信息公示系统. Only enterprises with nothing else on record (no
register entry, no planted anomaly of the main world or of extras.py) get a result other than 未发现问题, so
their expected tier follows from the result alone (docs/GENERATOR.md, expected tiers): at least
`MIN_FAILING` 发现问题已责令改正 and one 发现问题待后续处理 (fail), `MIN_UNREACHABLE`
通过登记的住所（经营场所）无法联系 (unreachable) and `MIN_NO_ACTIVITY` 未发现开展本次抽查涉及的经营活动 (no activity).
The first drop also carries last year's round (未发现问题, dated 200–330 days back) for a fifth of them.

Files: landing/inspection_results/<D>/inspection_results.csv, UTF-8 on even day offsets, GBK on odd ones.
Random stream `default_rng([seed, 9])`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .extras import Extras
from .landing import Landing
from .world import CITY_CODES, CITY_NAMES

SOURCE = "inspection_results"
COLUMNS = ["检查任务编号", "统一社会信用代码", "企业名称", "检查事项", "检查日期", "检查结果", "检查机关"]
PASS = "未发现问题"
FAIL = "发现问题已责令改正"
FAIL_PENDING = "发现问题待后续处理"
UNREACHABLE = "通过登记的住所（经营场所）无法联系"
NO_ACTIVITY = "未发现开展本次抽查涉及的经营活动"
ITEMS = ["网络交易经营者亮照亮证亮规情况的检查", "商品（服务）价格行为的检查", "网络交易平台经营者履行主体责任情况的检查",
         "产品质量的检查"]
NO_RESULT_SHARE = 0.12
FAIL_SHARE, UNREACHABLE_SHARE, NO_ACTIVITY_SHARE = 0.05, 0.03, 0.03
MIN_FAILING, MIN_UNREACHABLE, MIN_NO_ACTIVITY = 3, 2, 2
# what the credit score makes of a result (indicators/credit/config/scoring.yml): the tier an otherwise clean
# enterprise gets, with the reason written to expected_tiers.csv
TIER_OF_RESULT = {FAIL: ("B", "双随机抽查: 发现问题"), FAIL_PENDING: ("B", "双随机抽查: 发现问题"),
                  UNREACHABLE: ("B", "双随机抽查: 无法联系")}


class Inspections:
    def __init__(self, x: Extras, landing: Landing):
        self.x = x
        self.landing = landing
        rng = np.random.default_rng([x.seed, 9])
        w = x.w
        end = x.days - 1
        # the register's enterprises: main ones with a shop open by the last day, then the extra ones
        has_shop = np.zeros(len(w.ent_uscc), bool)
        has_shop[w.shop_ent[w.shop_open <= end]] = True
        ents = [int(e) for e in np.flatnonzero(has_shop)] + list(range(x.n_ent0, x.n_ent0 + len(x.ent_city)))
        on_record = x.on_record | x.used_ents
        n = len(ents)
        inspected = rng.random(n) >= NO_RESULT_SHARE
        city = np.array([x.enterprise(e)[2] for e in ents], int)
        t_start = np.minimum(end, max(0, x.days // 3) + (city % 3 == 0))
        day = np.minimum(end, t_start + (rng.random(n) * (end - t_start + 1)).astype(int))
        result = np.full(n, PASS, dtype=object)
        clean = np.array([inspected[i] and ents[i] not in on_record for i in range(n)])
        order = rng.permutation(np.flatnonzero(clean))
        m = int(inspected.sum())
        k_fail = max(MIN_FAILING, int(round(FAIL_SHARE * m)))
        k_unr = max(MIN_UNREACHABLE, int(round(UNREACHABLE_SHARE * m)))
        k_noa = max(MIN_NO_ACTIVITY, int(round(NO_ACTIVITY_SHARE * m)))
        cuts = np.cumsum([k_fail, 1, k_unr, k_noa])
        result[order[:cuts[0]]] = FAIL
        result[order[cuts[0]:cuts[1]]] = FAIL_PENDING
        result[order[cuts[1]:cuts[2]]] = UNREACHABLE
        result[order[cuts[2]:cuts[3]]] = NO_ACTIVITY
        year = x.date(end).year
        item = rng.integers(0, len(ITEMS), len(CITY_CODES))
        self.rows = []   # (t, task_id, uscc, name, item, result, authority)
        for i in np.flatnonzero(inspected):
            uscc, name, c = x.enterprise(ents[i])
            self.rows.append((int(day[i]), f"{CITY_CODES[c]}-SJ-{year}-{11 + c:02d}", uscc, name, ITEMS[item[c]],
                              str(result[i]), f"{CITY_NAMES[c]}市场监督管理局"))
        if x.history_days > 0:   # last year's round, in the first drop
            prev = rng.random(n) < 0.2
            back = rng.integers(200, 331, n)
            for i in np.flatnonzero(prev):
                uscc, name, c = x.enterprise(ents[i])
                self.rows.append((-int(back[i]), f"{CITY_CODES[c]}-SJ-{year - 1}-{31 + c:02d}", uscc, name,
                                  ITEMS[(item[c] + 1) % len(ITEMS)], PASS, f"{CITY_NAMES[c]}市场监督管理局"))
        self.rows.sort(key=lambda r: (r[0], r[1], r[2]))

    def tier_factors(self) -> dict[str, tuple[str, str]]:
        """uscc -> (tier, reason) of the results that move an otherwise clean enterprise's tier."""
        return {r[2]: TIER_OF_RESULT[r[5]] for r in self.rows if r[5] in TIER_OF_RESULT}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r[5]] = out.get(r[5], 0) + 1
        return out

    def day(self, t: int) -> None:
        """Write the results dated t (the first drop: every result up to then)."""
        if t < 0:
            return
        rows = [r for r in self.rows if (r[0] <= 0 if t == 0 else r[0] == t)]
        if not rows:
            return
        gbk = t % 2 == 1
        cols = list(zip(*rows))
        self.landing.write_file(SOURCE, t, COLUMNS, {
            "检查任务编号": np.array(cols[1], dtype=object), "统一社会信用代码": np.array(cols[2], dtype=object),
            "企业名称": np.array(cols[3], dtype=object), "检查事项": np.array(cols[4], dtype=object),
            "检查日期": np.array([(self.x.start + dt.timedelta(days=int(d))).isoformat() for d in cols[0]], dtype=object),
            "检查结果": np.array(cols[5], dtype=object), "检查机关": np.array(cols[6], dtype=object)},
            encoding="gbk" if gbk else "utf-8")
