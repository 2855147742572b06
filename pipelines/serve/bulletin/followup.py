"""一公开 of the spot checks in the bulletin and the dossiers, from the published inspection_followup mart.

The bulletin of D gets a section (before 数据质量) read from D's published partition of inspection_followup only
(a partition blocked at the gate is never shown): the merchants drawn and followed up, their results by class
(pass / fail / unreachable / no_activity / other / pending), the overdue ones (no result within followup_days of
the draw) listed with their draw date and days since, the results that arrived late, and the pointer to
`market-monitor export --date D` (docs/EXPORT.md), the files a bureau publishes. A merchant's dossier gets its
spot checks (every check of its draws, each in its latest published state on or before D) and the credit
score's spot-check factor (contrib_inspections of merchant_credit_tiers).

No personal data. A 个体工商户's 企业名称 can be its owner's name, and a natural person's ID number can stand in the
code column. So a 企业名称 is shown only for a 统一社会信用代码 that passes its GB 32100-2015 check and is not a
resident ID number with a valid GB 11643 check character (the rule of the export, pipelines/serve/export.py),
and even then it goes through the privacy masker (pipelines/core/privacy.py); a code that fails is shown masked
by the same masker (an ID number becomes [身份证号]). All in SQL over the partition, not per row in Python.
"""

from __future__ import annotations

import functools
from datetime import date

import jinja2
from markupsafe import Markup

from indicators.credit.followup import RESULT_CLASSES
from pipelines.core import privacy
from pipelines.core.home import Home
from pipelines.ingest.sqlfuncs import USCC_ALPHABET, USCC_WEIGHTED_SUM
from pipelines.serve.bulletin import data
from pipelines.serve.bulletin.wording import fmt

MART = "inspection_followup"
# the section goes before the data-quality heading (or before the end of a page without one)
ANCHOR = "<h2>数据质量"
DOSSIER_ANCHOR = "<h2>行政处罚"
MAX_LISTED = 50
CLASS_LABELS = {  # result_class -> (Chinese, English), as the mart's value labels say them in short
    "pass": ("未发现问题", "pass"),
    "fail": ("发现问题", "problem found"),
    "unreachable": ("通过登记的住所无法联系", "unreachable at the registered address"),
    "no_activity": ("未发现开展本次抽查涉及的经营活动", "no such business activity"),
    "other": ("其他（如已注销、已迁出）", "other (e.g. deregistered)"),
    "pending": ("尚无结果", "pending"),
}
RESIDENT_ID_SHAPE = r"[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
_RESIDENT_SUM = " + ".join(f"TRY_CAST(substr(c, {k + 1}, 1) AS INTEGER) * {w}"
                           for k, w in enumerate([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]))
# `c` is the code column (see _SHOWN): true when its 企业名称 may be shown
NAME_SHOWN_SQL = (
    f"coalesce(regexp_full_match(c, '[0-9]{{8}}[{USCC_ALPHABET}]{{10}}') "
    f"AND substr('{USCC_ALPHABET}', CAST((31 - ({USCC_WEIGHTED_SUM}) % 31) % 31 AS BIGINT) + 1, 1) = substr(c, 18, 1) "
    f"AND NOT coalesce(regexp_full_match(c, '{RESIDENT_ID_SHAPE}') AND upper(substr(c, 18, 1)) "
    f"= substr('10X98765432', CAST(({_RESIDENT_SUM}) % 11 AS BIGINT) + 1, 1), false), false)")


def _shown(src: str, where: str) -> str:
    """The partition's rows with `name_ok`, `uscc_shown` and `name_shown` (NULL when withheld) added."""
    return (f"SELECT *, CASE WHEN name_ok THEN uscc ELSE {privacy.sql_mask('uscc')} END AS uscc_shown, "  # noqa: S608 - path quoted by quote_literal, SQL from constants
            f"CASE WHEN name_ok THEN {privacy.sql_mask('company_name')} END AS name_shown "
            f"FROM (SELECT *, {NAME_SHOWN_SQL} AS name_ok FROM (SELECT *, uscc AS c FROM {src} WHERE {where}))")


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


# --------------------------------------------------------------------------- the bulletin's section


def section(con, home: Home, run_date: date, dossiers: dict[str, str] | None = None) -> dict:
    """What the section shows, from D's published partition (`published` False when there is none)."""
    dossiers = dossiers or {}
    src = data.published_source(home, MART)
    export = home.root / "exports" / run_date.isoformat()
    out = {"run_date": run_date.isoformat(), "published": False, "export_exists": export.is_dir()}
    if src is None or not data.has_partition(home, MART, run_date):
        return out
    params = {"d": run_date}
    n, drawn_today, overdue, late, days = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE last_draw_dt = dt), count(*) FILTER (WHERE overdue), "  # noqa: S608 - path quoted by quote_literal, values bound
        f"count(*) FILTER (WHERE result_late), max(followup_days) FROM {src} WHERE dt = $d", params).fetchone()
    found = dict(con.execute(f"SELECT result_class, count(*) FROM {src} WHERE dt = $d GROUP BY ALL",  # noqa: S608 - path quoted by quote_literal, values bound
                             params).fetchall())
    classes = [{"id": c, "zh": CLASS_LABELS.get(c, (c, c))[0], "en": CLASS_LABELS.get(c, (c, c))[1],
                "n": int(found.get(c, 0))} for c in [*RESULT_CLASSES, *sorted(set(found) - set(RESULT_CLASSES))]]
    overdue_rows = _dicts(con.execute(
        f"SELECT uscc, uscc_shown, name_shown, tier, region_code, draw_dt, due_date, days_since_draw "  # noqa: S608 - SQL from constants, values bound
        f"FROM ({_shown(src, 'dt = $d AND overdue')}) ORDER BY days_since_draw DESC, uscc LIMIT {MAX_LISTED}", params))
    late_rows = _dicts(con.execute(
        f"SELECT uscc, uscc_shown, name_shown, draw_dt, result_date, days_to_result, result_class "  # noqa: S608 - SQL from constants, values bound
        f"FROM ({_shown(src, 'dt = $d AND result_late')}) ORDER BY days_to_result DESC, uscc LIMIT {MAX_LISTED}",
        params))
    for r in overdue_rows + late_rows:
        r["dossier"] = dossiers.get(r.pop("uscc"))
        r["class_zh"] = CLASS_LABELS.get(r.get("result_class"), ("", ""))[0]
    return dict(out, published=True, n=int(n), drawn_today=int(drawn_today), overdue=int(overdue),
                late=int(late), followup_days=days, classes=classes, overdue_rows=overdue_rows,
                late_rows=late_rows, max_listed=MAX_LISTED)


@functools.lru_cache(maxsize=None)
def _compiled(source: str) -> jinja2.Template:
    """A template compiled once per process: a day's report renders the dossier block for every merchant (85 on
    the sample), and compiling it each time was a third of the report's time."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    return env.from_string(source)


SECTION_TEMPLATE = """
<h2 id="spot-check-followup">双随机抽查结果公示 <span class="en">Spot-check results (一公开)</span></h2>
{% if not s.published %}
<p class="note">抽查结果跟踪（inspection_followup）{{ s.run_date }} 尚未发布。<span class="en">inspection_followup is not
published for {{ s.run_date }} (not run, or blocked by the quality gate: see market-monitor status).</span></p>
{% else %}
<p>近期抽中并跟踪 <b id="followup-total">{{ s.n }}</b> 户（今日抽中 {{ s.drawn_today }} 户）；结果期限 {{ s.followup_days }} 天，
逾期未录入结果 <b id="followup-overdue" class="{{ 'high' if s.overdue else '' }}">{{ s.overdue }}</b> 户，结果逾期录入 <b id="followup-late">{{ s.late }}</b> 户。
<span class="en">{{ s.n }} merchants drawn and followed up ({{ s.drawn_today }} drawn today); a result is due within
{{ s.followup_days }} days of the draw: {{ s.overdue }} overdue without a result, {{ s.late }} results arrived late.</span></p>
<table id="followup-classes"><tr><th>检查结果 <span class="en">Result</span></th><th>户数 <span class="en">Merchants</span></th></tr>
{% for c in s.classes %}<tr data-class="{{ c.id }}"><td>{{ c.zh }} <span class="en">{{ c.en }}</span></td><td class="num">{{ c.n }}</td></tr>{% endfor %}
<tr><th>合计 <span class="en">Total</span></th><th class="num">{{ s.n }}</th></tr></table>
{% if s.overdue_rows %}
<h3>逾期未录入结果 <span class="en">Overdue: no result {{ s.followup_days }} days after the draw</span>{% if s.overdue > s.max_listed %} <span class="note">（前 {{ s.max_listed }} 户 first {{ s.max_listed }}）</span>{% endif %}</h3>
<table id="followup-overdue-list"><tr><th>企业名称 <span class="en">Company</span></th><th>统一社会信用代码 <span class="en">USCC</span></th>
<th>抽取日期 <span class="en">Drawn</span></th><th>应录入日期 <span class="en">Due</span></th><th>已过天数 <span class="en">Days since draw</span></th><th>抽取时等级 <span class="en">Tier</span></th></tr>
{% for r in s.overdue_rows %}<tr class="overdue"><td>{{ r.name_shown if r.name_shown else '（不显示 withheld）' }}</td>
<td>{% if r.dossier %}<a class="dossier" href="{{ r.dossier }}">{{ r.uscc_shown }}</a>{% else %}{{ r.uscc_shown | fmt }}{% endif %}</td>
<td>{{ r.draw_dt }}</td><td>{{ r.due_date }}</td><td class="num">{{ r.days_since_draw }}</td><td>{{ r.tier | fmt }}</td></tr>{% endfor %}
</table>
{% endif %}
{% if s.late_rows %}
<h3>结果逾期录入 <span class="en">Results that arrived late</span></h3>
<table id="followup-late-list"><tr><th>企业名称 <span class="en">Company</span></th><th>统一社会信用代码 <span class="en">USCC</span></th>
<th>抽取日期 <span class="en">Drawn</span></th><th>检查日期 <span class="en">Inspected</span></th><th>用时（天） <span class="en">Days</span></th><th>结果 <span class="en">Result</span></th></tr>
{% for r in s.late_rows %}<tr><td>{{ r.name_shown if r.name_shown else '（不显示 withheld）' }}</td>
<td>{% if r.dossier %}<a class="dossier" href="{{ r.dossier }}">{{ r.uscc_shown }}</a>{% else %}{{ r.uscc_shown | fmt }}{% endif %}</td>
<td>{{ r.draw_dt }}</td><td>{{ r.result_date }}</td><td class="num">{{ r.days_to_result }}</td><td>{{ r.class_zh }}</td></tr>{% endfor %}
</table>
{% endif %}
<p class="note">企业名称仅对通过校验的统一社会信用代码显示（个体工商户的名称可能是个人姓名）。
<span class="en">A company name is shown only for a code that passes its check and is not a personal ID number (a sole
trader's name can be a person's name).</span></p>
{% endif %}
<p class="note" id="followup-export">公示文件：运行 <code>market-monitor export --date {{ s.run_date }}</code>，写出
HOME/exports/{{ s.run_date }}/（抽查检查结果与差异化监管名单，CSV 与 XLSX，见 docs/EXPORT.md）。
<span class="en">Files for publication: <code>market-monitor export --date {{ s.run_date }}</code> writes
HOME/exports/{{ s.run_date }}/ (spot-check results and the tiered-supervision list, CSV and XLSX; docs/EXPORT.md).</span>
{% if s.export_exists %}<a href="../../exports/{{ s.run_date }}/spot_check_results.xlsx">spot_check_results.xlsx</a>{% endif %}</p>
"""


def section_html(sec: dict) -> Markup:
    return Markup(_compiled(SECTION_TEMPLATE).render(s=sec))


def _insert(page: str, fragment: str, anchor: str) -> str:
    at = page.find(anchor)
    if at < 0:
        at = page.rfind("</body>")
    return page[:at] + fragment + page[at:] if at >= 0 else page + fragment


def with_section(page: str, con, home: Home, run_date: date, dossiers: dict[str, str] | None = None) -> str:
    """The rendered bulletin with the spot-check follow-up section before the data-quality heading."""
    return _insert(page, str(section_html(section(con, home, run_date, dossiers))), ANCHOR)


# --------------------------------------------------------------------------- the dossiers


def checks_by_uscc(con, home: Home, run_date: date, usccs: list[str]) -> dict[str, list[dict]]:
    """USCC -> its spot checks (one per opening draw, each in its latest published state on or before D),
    newest draw first, for all the merchants at once."""
    src = data.published_source(home, MART)
    if src is None or not usccs:
        return {}
    cur = con.execute(
        f"SELECT uscc, dt, draw_dt, draws_in_check, due_date, task_id, result_class, result_date, "  # noqa: S608 - path quoted by quote_literal, values bound
        f"days_since_draw, days_to_result, overdue, result_late "
        f"FROM {src} WHERE dt <= $d AND list_contains($u, uscc) "
        f"QUALIFY row_number() OVER (PARTITION BY uscc, draw_dt ORDER BY dt DESC) = 1 "
        f"ORDER BY uscc, draw_dt DESC", {"d": run_date, "u": usccs})
    out: dict[str, list[dict]] = {}
    for r in _dicts(cur):
        r["class_zh"], r["class_en"] = CLASS_LABELS.get(r.get("result_class"), (r.get("result_class"), ""))
        out.setdefault(r["uscc"], []).append(r)
    return out


DOSSIER_TEMPLATE = """
<h2 id="spot-checks">双随机抽查 <span class="en">Spot checks</span></h2>
{% if tier and tier.get('contrib_inspections') is not none %}
<p>信用分中抽查结果得分 <span class="en">spot-check factor of the credit score</span> <b id="contrib-inspections">{{ tier.contrib_inspections | fmt }}</b>
（近三年发现问题 {{ tier.get('inspection_fails_3y') | fmt }} 次，无法联系 {{ tier.get('inspection_unreachable_3y') | fmt }} 次；最近检查
{{ tier.get('last_inspection_date') | fmt }}） <span class="en">(last 3 years: {{ tier.get('inspection_fails_3y') | fmt }} problems found,
{{ tier.get('inspection_unreachable_3y') | fmt }} unreachable; latest result {{ tier.get('last_inspection_date') | fmt }})</span></p>
{% endif %}
{% if checks %}
<table id="spot-check-followup"><tr><th>抽取日期 <span class="en">Drawn</span></th><th>抽中次数 <span class="en">Draws</span></th>
<th>应录入日期 <span class="en">Due</span></th><th>任务编号 <span class="en">Task</span></th><th>检查日期 <span class="en">Inspected</span></th>
<th>结果 <span class="en">Result</span></th><th>逾期 <span class="en">Overdue</span></th><th>截至 <span class="en">As of</span></th></tr>
{% for r in checks %}<tr class="{{ 'overdue' if r.overdue else '' }}"><td>{{ r.draw_dt }}</td><td class="num">{{ r.draws_in_check | fmt }}</td>
<td>{{ r.due_date | fmt }}</td><td>{{ r.task_id | fmt }}</td><td>{{ r.result_date | fmt }}</td>
<td>{{ r.class_zh }} <span class="en">{{ r.class_en }}</span></td>
<td class="{{ 'high' if r.overdue else '' }}">{% if r.overdue %}逾期 {{ r.days_since_draw }} 天 <span class="en">overdue, {{ r.days_since_draw }} days</span>{% elif r.result_late %}结果逾期录入（{{ r.days_to_result }} 天） <span class="en">late, {{ r.days_to_result }} days</span>{% else %}否 <span class="en">no</span>{% endif %}</td>
<td>{{ r.dt }}</td></tr>{% endfor %}
</table>
{% else %}<p class="note">近期未被双随机抽中。<span class="en">Not drawn for a spot check in the published follow-up.</span></p>{% endif %}
"""


def dossier_html(checks: list[dict], tier: dict | None) -> Markup:
    return Markup(_compiled(DOSSIER_TEMPLATE).render(checks=checks or [], tier=tier))


def with_dossier_checks(page: str, checks: list[dict], tier: dict | None) -> str:
    """A rendered dossier with its spot checks and the spot-check factor, before the penalties."""
    return _insert(page, str(dossier_html(checks, tier)), DOSSIER_ANCHOR)
