"""`market-monitor export --date D`: the files for publication (一公开) in HOME/exports/<D>/ (docs/EXPORT.md).

    spot_check_results.csv / .xlsx    双随机 spot-check results known as of D, in the columns the 国家企业信用信息
                                      公示系统 publishes them: 任务编号, 企业名称, 统一社会信用代码, 检查事项,
                                      检查日期, 检查结果, 检查机关
    tiered_supervision.csv / .xlsx    the 差异化监管 list: every merchant of D's tier list with its tier, the
                                      sampling ratio the tier got in D's draw and whether it was drawn
    manifest.json                     what the folder holds: rows and sha256 of each file, the marts it came from

CSV files are UTF-8 with a byte-order mark (Excel opens them without an import dialog) and CRLF line ends;
the XLSX files hold the same rows, codes as text and dates as dates.

Only what passed the quality gate is exported: D's partitions of merchant_credit_tiers, inspection_sample
and inspection_followup must be published (the follow-up's gate covers D's batch of spot-check results);
the results are read from the warehouse (read-only) with the same as-of-D rule as the marts
(inspection_results_as_of: loaded and dated by D, latest version of each task and firm), so an export of an
old date is the same whatever arrived later. The folder is written beside its final place and renamed into
it; a rerun replaces it whole.

No natural person's ID number leaves in an export: every text field goes through the privacy rules
(pipelines/core/privacy.py, the masker of ingestion) and a 统一社会信用代码 is kept only when it passes its
GB 32100-2015 check and is not a resident ID number with a valid GB 11643 check (a natural person's ID sent
in the code column is masked).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from indicators.compute import create_macros, pipeline_version
from indicators.credit import tiers
from indicators.registry import load_overrides
from pipelines.core import privacy
from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.core.sql import quote_literal
from pipelines.publish.views import read_parquet_sql
from warehouse.db import connect_reader

EXPORTS_DIR = "exports"
REQUIRED_MARTS = ("merchant_credit_tiers", "inspection_sample", "inspection_followup")
# The publication layout of 双随机 spot-check results on the 国家企业信用信息公示系统 (docs/EXPORT.md)
RESULTS_COLUMNS = ("任务编号", "企业名称", "统一社会信用代码", "检查事项", "检查日期", "检查结果", "检查机关")
TIERS_COLUMNS = ("统一社会信用代码", "企业名称", "行政区划代码", "信用风险分类", "分类说明", "抽查比例",
                 "本期是否抽中", "抽取顺序", "分类日期")
RESULTS_NAME, TIERS_NAME = "spot_check_results", "tiered_supervision"
SHEETS = {RESULTS_NAME: "抽查检查结果", TIERS_NAME: "差异化监管名单"}
# A text cell starting with one of these is a formula to a spreadsheet (CSV injection): the CSV gets a
# leading apostrophe, the XLSX cell is typed as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# A resident ID number with a valid GB 11643-1999 check character (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2,
# check "10X98765432"[sum mod 11]): in the 统一社会信用代码 column it is a natural person's ID, whatever the
# code check says.
_RESIDENT_ID_SHAPE = r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$"
_RESIDENT_ID_MACRO = f"""
CREATE OR REPLACE TEMP MACRO mm_is_resident_id(v) AS (
    coalesce(regexp_matches(v, {quote_literal(_RESIDENT_ID_SHAPE)})
        AND upper(substr(v, 18, 1)) = substr('10X98765432', CAST(1 + list_sum(list_transform(range(17),
            lambda i: TRY_CAST(substr(v, i + 1, 1) AS INTEGER) * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i + 1]))
            % 11 AS BIGINT), 1), false))"""


# A text field as exported: as recorded when no privacy rule finds personal data in it, else masked (the masker
# also folds full-width characters, which would change the 公示 wording, e.g. the brackets of （经营场所）).
_TEXT_MACRO = "CREATE OR REPLACE TEMP MACRO mm_export_text(v) AS CASE WHEN mm_personal_data(v) IS NULL THEN v ELSE mm_mask(v) END"


def _code(column: str, valid: str) -> str:
    """The SQL of a 统一社会信用代码 column as exported: kept when it passes the code check and is not a checked
    resident ID number, else masked by the privacy rules."""
    return (f"CASE WHEN coalesce({valid}, false) AND NOT mm_is_resident_id({column}) THEN {column} "
            f"ELSE mm_export_text({column}) END")


RESULTS_SQL = f"""
SELECT mm_export_text(task_id) AS "任务编号", mm_export_text(company_name) AS "企业名称", {_code('uscc', 'uscc_valid')} AS "统一社会信用代码",
       mm_export_text(inspection_item) AS "检查事项", inspection_date AS "检查日期", mm_export_text(result) AS "检查结果",
       mm_export_text(authority) AS "检查机关"
FROM inspection_results_as_of($d)
ORDER BY inspection_date DESC, task_id, uscc"""  # noqa: S608 - constant SQL, the date is bound


def _tiers_sql(home: Home) -> str:
    tiers_src, sample_src = read_parquet_sql(home, "merchant_credit_tiers"), read_parquet_sql(home, "inspection_sample")
    return f"""
WITH listed AS (SELECT * FROM {tiers_src} WHERE dt = $d),
drawn AS (SELECT uscc, tier AS drawn_tier, sampling_ratio, draw_order FROM {sample_src} WHERE dt = $d),
ratios AS (
    SELECT t.tier, coalesce(r.sampling_ratio, t.configured) AS sampling_ratio
    FROM (SELECT unnest($tiers) AS tier, unnest($configured) AS configured) AS t
    LEFT JOIN (SELECT drawn_tier AS tier, min(sampling_ratio) AS sampling_ratio FROM drawn GROUP BY ALL) AS r
        USING (tier)
),
labels AS (SELECT unnest($tiers) AS tier, unnest($labels) AS label)
SELECT {_code('l.uscc', 'l.uscc_valid')} AS "统一社会信用代码", mm_export_text(l.company_name) AS "企业名称",
       l.region_code AS "行政区划代码", l.tier AS "信用风险分类", lb.label AS "分类说明",
       r.sampling_ratio AS "抽查比例", CASE WHEN d.uscc IS NULL THEN '否' ELSE '是' END AS "本期是否抽中",
       d.draw_order AS "抽取顺序", l.dt AS "分类日期"
FROM listed AS l
LEFT JOIN drawn AS d USING (uscc)
LEFT JOIN ratios AS r ON r.tier = l.tier
LEFT JOIN labels AS lb ON lb.tier = l.tier
ORDER BY l.tier DESC, l.region_code, d.draw_order NULLS LAST, l.uscc"""  # noqa: S608 - paths quoted by quote_literal, values bound


@dataclass
class ExportResult:
    folder: Path
    rows: dict[str, int] = field(default_factory=dict)  # {file name: data rows}


def exports_dir(home: Home) -> Path:
    return home.root / EXPORTS_DIR


def _tier_labels() -> dict[str, str]:
    text = (resources.files("indicators") / "marts" / "merchant_credit_tiers.yml").read_text(encoding="utf-8")
    labels = yaml.safe_load(text)["value_labels"]["tier"]
    return {t: labels[t]["zh"] for t in tiers.TIERS}


def _check_published(home: Home, day: date) -> None:
    missing = [m for m in REQUIRED_MARTS if not home.partition_file(m, day).exists()]
    if not missing:
        return
    if len(missing) == len(REQUIRED_MARTS):
        published = sorted({p.parent.name[len("dt="):] for m in REQUIRED_MARTS for p in home.partition_files(m)})
        known = f"published dates: {published[0]} … {published[-1]}" if published else "nothing is published yet"
        raise UserError(f"export: nothing published for {day} in {home.marts} ({known}); run "
                        f"`market-monitor run --date {day}` first")
    raise UserError(f"export: {', '.join(missing)} not published for {day} (blocked by the quality gate or not "
                    f"run: see `market-monitor status`); nothing exported, since a list must not go out half-checked")


def _rows(con, sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, params)
    return [d[0] for d in cur.description], cur.fetchall()


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    text = str(v)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(path: Path, columns, rows) -> None:
    """UTF-8 with a byte-order mark and CRLF: Excel on Windows opens it as UTF-8 (no mojibake)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(columns)
        out.writerows([_csv_value(v) for v in row] for row in rows)


def write_xlsx(path: Path, sheet: str, columns, rows, widths: dict[str, int] | None = None) -> None:
    """One sheet: a bold header row (frozen), codes and other text as text cells, dates as dates."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet)
    ws.freeze_panes = "A2"
    for i, name in enumerate(columns):
        ws.column_dimensions[chr(ord("A") + i)].width = (widths or {}).get(name, 16)
    bold = Font(bold=True)
    header = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for v in row:
            cell = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(v, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        ws.append(cells)
    wb.save(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename the written folder into place; a previous export of the date is moved aside first and removed
    after (a rename cannot replace a non-empty folder), so a reader sees the old folder or the new one."""
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def export_day(home: Home, day: date) -> ExportResult:
    """Write HOME/exports/<day>/ (see the module docstring). UserError (exit 2) when D is not published."""
    _check_published(home, day)
    if not home.db_path.exists():
        raise UserError(f"export: no warehouse at {home.db_path}; run `market-monitor run --date {day}` first")
    cfg = tiers.load_config(load_overrides(home.config_file))
    labels = _tier_labels()
    con = connect_reader(home.db_path)
    try:
        create_macros(con)
        privacy.register(con)
        con.execute(_RESIDENT_ID_MACRO)
        con.execute(_TEXT_MACRO)
        results = _rows(con, RESULTS_SQL, {"d": day})
        tiers_list = _rows(con, _tiers_sql(home), {
            "d": day, "tiers": list(tiers.TIERS), "labels": [labels[t] for t in tiers.TIERS],
            "configured": [float(cfg[f"ratio_{t.lower()}"]) for t in tiers.TIERS]})
    finally:
        con.close()

    root = exports_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".*-{day}-*"):  # left by an export killed midway
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".tmp-{day}-{os.getpid()}"
    tmp.mkdir()
    try:
        widths = {"任务编号": 26, "企业名称": 30, "统一社会信用代码": 22, "检查事项": 28, "检查日期": 12,
                  "检查结果": 34, "检查机关": 28, "分类说明": 22}
        written = {}
        for name, (columns, rows) in ((RESULTS_NAME, results), (TIERS_NAME, tiers_list)):
            write_csv(tmp / f"{name}.csv", columns, rows)
            write_xlsx(tmp / f"{name}.xlsx", SHEETS[name], columns, rows, widths)
            written |= {f"{name}.csv": len(rows), f"{name}.xlsx": len(rows)}
        manifest = {
            "date": day.isoformat(),
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "pipeline_version": pipeline_version(),
            "from": {"spot_check_results": "staging.inspection_results as of the date (inspection_results_as_of)",
                     "tiered_supervision": "marts merchant_credit_tiers and inspection_sample, dt = the date"},
            "files": {f: {"rows": n, "sha256": _sha256(tmp / f)} for f, n in written.items()},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_in(tmp, root / day.isoformat())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(root / day.isoformat(), written)
