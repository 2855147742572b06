"""`market-monitor query`: read-only SQL over the warehouse views of the published marts."""

from __future__ import annotations

import json

import duckdb
import pyarrow.dataset as ds
import pytest

from pipelines.core.errors import UserError
from pipelines.run.cli import main
from pipelines.serve.query import format_rows, run_query
from tests.report.fakehome import build_fake_home
from warehouse.db import connect_writer


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return build_fake_home(tmp_path_factory.mktemp("query-home"))


def test_every_published_mart_is_a_commented_view_in_the_warehouse(home):
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        views = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal").fetchall()}
        marts = {p.name for p in home.marts.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
        assert marts <= views and "data_dictionary" in views
        comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() "
                                    "WHERE schema_name = 'main' AND table_name = 'indicator_flags'").fetchall())
        assert comments["uscc"].startswith("统一社会信用代码 — ")
        assert comments["dt"].startswith("业务日期")
        n = con.execute("SELECT count(*) FROM indicator_flags").fetchall()[0][0]
    finally:
        con.close()
    assert n == ds.dataset(home.mart_dir("indicator_flags"), format="parquet", partitioning="hive").count_rows()


def test_select_returns_rows_and_formats(home):
    cols, rows = run_query(home, "SELECT dt, count(*) AS n FROM indicator_flags GROUP BY dt ORDER BY dt")
    assert cols == ["dt", "n"] and len(rows) == 12
    assert json.loads(format_rows(cols, rows, "json"))[0]["dt"] == rows[0][0].isoformat()
    assert format_rows(cols, rows, "csv").splitlines()[0] == "dt,n"
    assert format_rows(cols, rows, "table").endswith("(12 rows)")


@pytest.mark.parametrize("sql", [
    "INSERT INTO meta.alerts VALUES (now(), NULL, NULL, NULL, 'x')",
    "INSERT INTO leads SELECT * FROM leads",
    "CREATE TABLE t AS SELECT 1",
    "DELETE FROM meta.runs",
    "DROP VIEW indicator_flags",
    "COPY (SELECT 1) TO '/tmp/out.csv'",
    "ATTACH '/tmp/other.duckdb' AS o",
    "SET enable_external_access = true",
    "SELECT 1; DELETE FROM meta.runs",
])
def test_writes_and_session_changes_are_refused(home, sql):
    with pytest.raises(UserError, match="read-only|exactly one statement"):
        run_query(home, sql)


def test_files_outside_the_marts_cannot_be_read(home, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(UserError, match="query failed"):
        run_query(home, f"SELECT * FROM read_csv('{secret}')")


def test_cli_refuses_a_write_with_exit_2_and_a_clear_message(home, capsys):
    assert main(["query", "--home", str(home.root), "DELETE FROM meta.runs"]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "DELETE" in err and "Traceback" not in err
    assert main(["query", "--home", str(home.root), "--format", "csv", "SELECT count(*) AS n FROM ingestion_ledger"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "35"]  # 12 days x 3 sources, one source stale on the last


def test_query_works_while_a_writer_holds_the_warehouse(home):
    writer = connect_writer(home.db_path)
    try:
        cols, rows = run_query(home, "SELECT count(*) FROM complaint_rates")
    finally:
        writer.close()
    assert rows[0][0] == 30


@pytest.mark.parametrize("table", ["raw.price_observations", "staging.price_observations", "work.mart__indicator_flags",
                                   "meta.quarantine_rows", "meta.runs", "meta.ingestion_ledger",
                                   "warehouse.meta.quarantine_rows"])
def test_raw_quarantine_and_warehouse_tables_are_not_reachable(home, table):
    with pytest.raises(UserError) as caught:
        run_query(home, f"SELECT * FROM {table}")
    message = str(caught.value)
    assert "query failed" in message and "not reachable" in message and "ingestion_ledger" in message


def test_quarantined_text_is_absent_from_everything_query_sees(home):
    """The fake home quarantines rows whose raw text is 'x' and carries a ledger `message`: neither reaches
    the session (no table or view of it has a raw_text or message column)."""
    cols, rows = run_query(home, "SELECT table_name, column_name FROM duckdb_columns() "
                                 "WHERE column_name IN ('raw_text', 'message', 'reason') AND NOT internal")
    assert rows == []
    cols, rows = run_query(home, "SELECT database_name FROM duckdb_databases() WHERE NOT internal")
    assert rows == [("memory",)]


def test_ingestion_ledger_is_readable_with_its_bookkeeping_columns(home):
    cols, rows = run_query(home, "SELECT source, count(*), sum(rows_read) = sum(rows_loaded + rows_quarantined) "
                                 "FROM ingestion_ledger GROUP BY source ORDER BY source")
    assert rows == [("complaints_12315", 11, True), ("olist", 12, True), ("price_observations", 12, True)]
    cols, _ = run_query(home, "SELECT * FROM ingestion_ledger LIMIT 0")
    assert cols[:10] == ["source", "business_date", "file_name", "sha256", "size_bytes", "rows_read", "rows_loaded",
                         "rows_quarantined", "outcome", "encoding"]


def test_duckdb_views_lists_every_mart_view_with_its_comment(home):
    cols, rows = run_query(home, "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal ORDER BY 1")
    comments = dict(rows)
    marts = {p.name for p in home.marts.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    expected = (marts | {f"{m}_latest" for m in marts - {"data_dictionary"}}
                | {"leads", "complaint_rates_month_final", "value_labels"})
    assert expected <= set(comments), expected - set(comments)
    assert all(comments[v] for v in expected), {v: comments[v] for v in expected if not comments[v]}
    assert comments["leads"].startswith("线索（去重）")
    cols, rows = run_query(home, "SELECT comment FROM duckdb_columns() WHERE table_name = 'leads' "
                                 "AND column_name IN ('days_seen', 'uscc') ORDER BY column_name")
    assert rows[0][0].startswith("发布天数") and rows[1][0].startswith("统一社会信用代码")
