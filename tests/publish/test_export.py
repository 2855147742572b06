"""`market-monitor export --date D`: the spot-check results in the 公示系统 layout and the 差异化监管 list, as CSV
(UTF-8 with BOM) and XLSX; results known as of D only; no resident ID number in any file; reruns replace the
folder; a date with nothing published exits 2."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import duckdb
import pytest
from openpyxl import load_workbook

from indicators.credit import tiers
from pipelines.core.home import Home
from pipelines.ingest import sqlfuncs
from pipelines.serve.export import RESULTS_COLUMNS, TIERS_COLUMNS
from tests.reliability.helpers import D1, D2, cli, copy_home

pytestmark = pytest.mark.slow
PERSON_ID = "11010519491231002X"          # a resident ID number with a valid GB 11643 check character
PERSON_ID_IN_TEXT = "110101199003074514"  # the same shape, written inside a free-text field


def _tier_rows(root, day):
    con = duckdb.connect()
    glob = str(Home(root).partition_glob("merchant_credit_tiers"))
    try:
        return con.execute(f"SELECT uscc, tier FROM read_parquet('{glob}', hive_partitioning = true) WHERE dt = ?",  # noqa: S608 - test path
                           [day]).fetchall()
    finally:
        con.close()


def _results(root, firm):
    """Results as ingest leaves them in staging (uscc_valid by the ingest's own GB 32100 check)."""
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    sqlfuncs.register(con)
    rows = [  # task, uscc, name, item, inspected, result, loaded
        ("LN-SJ-2026-001", firm, "某某商贸有限公司", "登记事项检查", D1 - timedelta(days=3), "发现问题已责令改正", D1),
        ("LN-SJ-2026-002", PERSON_ID, "个体户张某", "经营场所检查", D1 - timedelta(days=1), "通过登记的住所（经营场所）无法联系", D1),
        ("LN-SJ-2026-003", firm, "=HYPERLINK(\"http://x\")", f"核查经营者{PERSON_ID_IN_TEXT}的资质", D1, "未发现问题", D1),
        ("LN-SJ-2026-004", firm, "某某商贸有限公司", "登记事项检查", D1 - timedelta(days=2), "未发现问题", D2),  # loaded after D1
        ("LN-SJ-2026-005", firm, "某某商贸有限公司", "登记事项检查", D2, "未发现问题", D1),  # dated after D1
    ]
    try:
        for i, (task, code, name, item, inspected, result, loaded) in enumerate(rows, start=1):
            con.execute(
                "INSERT INTO staging.inspection_results (task_id, uscc, uscc_valid, company_name, inspection_item,"
                " inspection_date, result, authority, _business_date, _file_name, _sha256, _row)"
                " VALUES (?, ?, mm_uscc_valid(?), ?, ?, ?, ?, '沈阳市市场监督管理局', ?, 'results.csv', 'sha', ?)",
                [task, code, code, name, item, inspected, result, loaded, i])
    finally:
        con.close()
    return rows


def _known_results(root, day) -> int:
    """(task, firm) pairs with a version loaded by `day` and dated by it (counted here without the macros)."""
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(DISTINCT (task_id, uscc)) FROM staging.inspection_results "
                           "WHERE _business_date <= ? AND inspection_date <= ?", [day, day]).fetchone()[0]
    finally:
        con.close()


def _read_csv(path):
    raw = path.read_bytes()
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _read_xlsx(path):
    ws = load_workbook(path, read_only=True).worksheets[0]
    return [[c for c in row] for row in ws.iter_rows(values_only=True)]


def _cell_text(v):
    """An XLSX value as its CSV text (dates are datetimes in openpyxl; empty cells None)."""
    if v is None:
        return ""
    if hasattr(v, "date"):
        return v.date().isoformat()
    return repr(v) if isinstance(v, float) else str(v)


@pytest.fixture(scope="module")
def exported(template_d1, tmp_path_factory):
    root = copy_home(template_d1, tmp_path_factory.mktemp("export") / "home")
    firm = _tier_rows(root, D1)[0][0]
    rows = _results(root, firm)
    done = cli(root, "export", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    return root, firm, rows


def test_results_csv_has_the_bom_and_exactly_the_publication_layout(exported):
    root, firm, _ = exported
    raw, table = _read_csv(root / "exports" / D1.isoformat() / "spot_check_results.csv")
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert tuple(table[0]) == RESULTS_COLUMNS == ("任务编号", "企业名称", "统一社会信用代码", "检查事项", "检查日期",
                                                 "检查结果", "检查机关")
    # known as of D1: loaded by D1 and dated by D1 (the sample's own results too); newest first
    ours = [r[0] for r in table[1:] if r[0].startswith("LN-SJ-")]
    assert ours == ["LN-SJ-2026-003", "LN-SJ-2026-002", "LN-SJ-2026-001"]
    assert len(table) - 1 == _known_results(root, D1)
    dates = [r[4] for r in table[1:]]
    assert dates == sorted(dates, reverse=True)
    first = next(dict(zip(table[0], r)) for r in table[1:] if r[0] == "LN-SJ-2026-001")
    assert first == {"任务编号": "LN-SJ-2026-001", "企业名称": "某某商贸有限公司", "统一社会信用代码": firm,
                     "检查事项": "登记事项检查", "检查日期": (D1 - timedelta(days=3)).isoformat(),
                     "检查结果": "发现问题已责令改正", "检查机关": "沈阳市市场监督管理局"}


def test_xlsx_opens_and_holds_the_same_rows_as_the_csv(exported):
    root, _, _ = exported
    folder = root / "exports" / D1.isoformat()
    for name, header in (("spot_check_results", RESULTS_COLUMNS), ("tiered_supervision", TIERS_COLUMNS)):
        _, table = _read_csv(folder / f"{name}.csv")
        sheet = _read_xlsx(folder / f"{name}.xlsx")
        assert tuple(sheet[0]) == header and tuple(table[0]) == header
        as_text = [[_cell_text(v) for v in row] for row in sheet[1:]]
        # the CSV guards a text starting like a formula with an apostrophe; the XLSX types it as text
        assert [[c[1:] if c.startswith("'=") else c for c in row] for row in table[1:]] == as_text
        assert len(as_text) >= 1


def test_no_resident_id_number_in_any_exported_file(exported):
    root, firm, _ = exported
    folder = root / "exports" / D1.isoformat()
    for f in sorted(folder.iterdir()):
        blobs = [f.read_bytes()]
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                blobs = [z.read(n) for n in z.namelist()]
        for blob in blobs:
            assert PERSON_ID.encode() not in blob and PERSON_ID_IN_TEXT.encode() not in blob, f.name
    _, table = _read_csv(folder / "spot_check_results.csv")
    by_task = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    assert by_task["LN-SJ-2026-002"]["统一社会信用代码"] == "[身份证号]"
    assert by_task["LN-SJ-2026-002"]["检查结果"] == "通过登记的住所（经营场所）无法联系"  # wording kept as recorded
    assert by_task["LN-SJ-2026-003"]["检查事项"] == "核查经营者[身份证号]的资质"
    assert by_task["LN-SJ-2026-001"]["统一社会信用代码"] == firm          # a registered code is kept
    assert by_task["LN-SJ-2026-003"]["企业名称"] == "'=HYPERLINK(\"http://x\")"
    sheet = load_workbook(folder / "spot_check_results.xlsx").worksheets[0]
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []


def test_the_tiered_supervision_list_is_the_tier_list_with_the_draw(exported):
    root, _, _ = exported
    _, table = _read_csv(root / "exports" / D1.isoformat() / "tiered_supervision.csv")
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    listed = dict(_tier_rows(root, D1))
    assert {r["统一社会信用代码"] for r in rows} == set(listed) and len(rows) == len(listed)
    cfg = tiers.load_config()
    for r in rows:
        assert r["信用风险分类"] == listed[r["统一社会信用代码"]]
        assert float(r["抽查比例"]) == cfg[f"ratio_{r['信用风险分类'].lower()}"]
        assert r["分类日期"] == D1.isoformat() and r["本期是否抽中"] in ("是", "否")
        assert (r["抽取顺序"] != "") == (r["本期是否抽中"] == "是")
    con = duckdb.connect()
    glob = str(Home(root).partition_glob("inspection_sample"))
    drawn = {u for (u,) in con.execute(
        f"SELECT uscc FROM read_parquet('{glob}', hive_partitioning = true) WHERE dt = ?", [D1]).fetchall()}  # noqa: S608 - test path
    assert {r["统一社会信用代码"] for r in rows if r["本期是否抽中"] == "是"} == drawn and drawn
    assert [r["信用风险分类"] for r in rows] == sorted((r["信用风险分类"] for r in rows), reverse=True)


def test_manifest_names_every_file_with_its_rows_and_sha256(exported):
    root, _, _ = exported
    folder = root / "exports" / D1.isoformat()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["date"] == D1.isoformat()
    assert set(manifest["files"]) == {p.name for p in folder.iterdir()} - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert manifest["files"]["spot_check_results.csv"]["rows"] == _known_results(root, D1) >= 3


def test_a_rerun_replaces_the_folder_and_leaves_nothing_behind(exported):
    root, _, _ = exported
    folder = root / "exports" / D1.isoformat()
    (folder / "stale.txt").write_text("from an earlier export", encoding="utf-8")
    done = cli(root, "export", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (folder / "stale.txt").exists() and (folder / "spot_check_results.xlsx").exists()
    assert [p.name for p in (root / "exports").iterdir()] == [D1.isoformat()]  # no temp or old folders


def test_a_date_with_nothing_published_exits_2(exported):
    root, _, _ = exported
    day = D1 + timedelta(days=30)
    done = cli(root, "export", "--date", day.isoformat())
    assert done.returncode == 2
    assert f"nothing published for {day}" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "exports" / day.isoformat()).exists()


def test_a_date_with_a_blocked_mart_exits_2_naming_it(template_d1, tmp_path):
    root = copy_home(template_d1, tmp_path / "home")
    Home(root).partition_file("inspection_followup", D1).unlink()
    done = cli(root, "export", "--date", D1.isoformat())
    assert done.returncode == 2 and "inspection_followup not published" in done.stderr
    assert not (root / "exports" / D1.isoformat()).exists()


def test_the_daily_run_publishes_the_followup_of_its_draw(exported):
    from pipelines.serve.query import run_query

    root, _, _ = exported
    cols, rows = run_query(Home(root), "SELECT f.uscc, f.draw_dt, f.result_class, f.overdue, f.days_since_draw, "
                                       "f.seed = s.seed AS same_seed FROM inspection_followup_latest AS f "
                                       "FULL JOIN inspection_sample_latest AS s USING (uscc)")
    got = [dict(zip(cols, r)) for r in rows]
    assert got and all(r["same_seed"] for r in got)             # every drawn firm, and only those
    assert {(r["draw_dt"], r["result_class"], r["overdue"], r["days_since_draw"]) for r in got} == {
        (D1, "pending", False, 0)}                               # D1 is the first day: drawn today, no result yet
    manifest = json.loads(Home(root).manifest_path("inspection_followup").read_text(encoding="utf-8"))
    assert manifest["partitions"][D1.isoformat()]["rows"] == len(got)
