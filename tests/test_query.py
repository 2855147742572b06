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
        marts = {p.name for p in home.marts.iterdir() if p.is_dir()}
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
    assert main(["query", "--home", str(home.root), "--format", "csv", "SELECT count(*) AS n FROM meta.runs"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "60"]


def test_query_works_while_a_writer_holds_the_warehouse(home):
    writer = connect_writer(home.db_path)
    try:
        cols, rows = run_query(home, "SELECT count(*) FROM complaint_rates")
    finally:
        writer.close()
    assert rows[0][0] == 30
