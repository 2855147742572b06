"""Append-only schema: released migrations are pinned, a yml column becomes a new migration that an old
warehouse receives at connect, a yml column without one fails at connect, reruns change nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.core.errors import SchemaMismatch, UserError
from pipelines.ingest import ddl, schema_check
from pipelines.ingest.catalogue import Column, all_tables
from warehouse.db import connect_writer
from warehouse.migrate import MANIFEST_NAME, apply_migrations, current_version, migration_files

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO_ROOT / "warehouse" / "migrations"
# the two migrations released before the schema became append-only, as of git 912a34b (002 changed
# only in its comments since 7b4b79b; existing warehouses hold the same tables)
RELEASED = {
    "001_core.sql": "87c9c33de6ab9fe845f9be4fdcdb3e8422d9ea792bf8f353b86bb1cdd4fd747f",
    "002_sources.sql": "c15b53224b8f31031afec3c21fb6a9f40b0d16f9f8f6b8192fdb97dcd21934f4",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with_new_column(table: str, column: str, sql_type: str = "text") -> list:
    """The catalogue's tables with one more column in `table` (as if its yml had gained it)."""
    out = []
    for t in all_tables():
        if t.table == table:
            t = dataclasses.replace(t, columns=(*t.columns, Column(name=column, type=sql_type)))
        out.append(t)
    return out


def _columns(con, qualified: str) -> dict[str, str]:
    schema, table = qualified.split(".")
    return dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $s AND table_name = $t "
        "ORDER BY ordinal_position", {"s": schema, "t": table}).fetchall())


@pytest.fixture
def migrations_copy(tmp_path) -> Path:
    """The released migrations and manifest in a folder of their own (a new one can be added there)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in MIGRATIONS.iterdir():
        if path.suffix == ".sql" or path.name == MANIFEST_NAME:
            shutil.copy(path, folder / path.name)
    return folder


def test_every_migration_is_pinned_and_unchanged():
    pinned = ddl.read_manifest()
    files = {name: text for _, name, text in migration_files()}
    assert set(pinned) == set(files), "every migration file has exactly one line in MANIFEST.sha256"
    for name in files:
        assert _sha(MIGRATIONS / name) == pinned[name], f"{name} was edited after release: add a new migration"
    for name, digest in RELEASED.items():
        assert pinned[name] == digest, f"{name} is the migration applied to existing warehouses; never edit it"


def test_the_migrations_build_exactly_the_yml_schema():
    assert ddl.render_new_migration() is None
    assert ddl.main(["--check"]) == 0


def test_every_meta_table_comes_from_a_migration():
    con = duckdb.connect()
    apply_migrations(con)
    from_migrations = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'").fetchall()}
    assert {"credit_flag_history", "credit_tier_history", "inspection_draws", "quarantine_rows"} <= from_migrations
    created = re.compile(r"CREATE\s+(OR\s+REPLACE\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?meta\.([a-z_]+)", re.IGNORECASE)
    outside = []
    for folder in ("pipelines", "indicators", "expectations", "dags", "warehouse"):
        for path in (REPO_ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".sql") or path.parent == MIGRATIONS:
                continue
            for match in created.finditer(path.read_text(encoding="utf-8")):
                if match.group(3) != "schema_migrations":  # the migrations' own ledger (warehouse/migrate.py)
                    outside.append(f"{path.relative_to(REPO_ROOT)}: meta.{match.group(3)}")
    assert outside == [], "meta tables must come from warehouse/migrations/"


def test_an_old_warehouse_gets_a_new_yml_column_from_a_new_migration(tmp_path, migrations_copy):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    old_version = apply_migrations(con, folder=migrations_copy)
    con.execute("INSERT INTO staging.registry (platform, shop_id, _business_date, _file_name, _sha256, _row) "
                "VALUES ('tmall', 'TM1', DATE '2026-03-01', 'registry.csv', 'sha', 1)")
    tables = _with_new_column("registry", "business_scope")

    with pytest.raises(SchemaMismatch) as caught:  # the yml has it, no migration adds it
        schema_check.check_schema(con, tables)
    message = str(caught.value)
    assert "staging.registry: column business_scope (VARCHAR) is missing" in message
    assert "raw.registry" not in message  # no raw copies since migration 006: the landing file is the raw record
    assert "python -m pipelines.ingest.ddl --new-migration" in message

    path = ddl.write_new_migration("registry_business_scope", tables, folder=migrations_copy)
    assert path.name == f"{old_version + 1:03d}_registry_business_scope.sql"
    sql = path.read_text(encoding="utf-8")
    assert "ALTER TABLE staging.registry ADD COLUMN IF NOT EXISTS business_scope VARCHAR;" in sql
    assert "raw.registry" not in sql
    assert ddl.read_manifest(migrations_copy)[path.name] == _sha(path)
    assert ddl.write_new_migration("again", tables, folder=migrations_copy) is None  # nothing left to add

    assert apply_migrations(con, check=False, folder=migrations_copy) == old_version + 1
    schema_check.check_schema(con, tables)  # agrees now
    assert "business_scope" in _columns(con, "staging.registry")
    # the history view follows the table; the row loaded before has no value
    assert con.execute("SELECT shop_id, business_scope FROM staging.registry_current").fetchall() == [("TM1", None)]


def test_a_new_source_table_becomes_create_statements(tmp_path, migrations_copy):
    registry = next(t for t in all_tables() if t.table == "registry")
    tables = [*all_tables(), dataclasses.replace(registry, table="registry_extra")]
    sql = ddl.render_new_migration(tables, folder=migrations_copy)
    assert "CREATE TABLE IF NOT EXISTS staging.registry_extra" in sql
    assert "raw.registry_extra" not in sql
    assert "CREATE OR REPLACE VIEW staging.registry_extra_current" in sql
    con = duckdb.connect()
    apply_migrations(con, check=False, folder=migrations_copy)
    con.execute(sql)
    schema_check.check_schema(con, tables)


def test_a_changed_type_needs_a_hand_written_migration(migrations_copy):
    tables = [dataclasses.replace(t, columns=tuple(dataclasses.replace(c, type="integer") if c.name == "shop_name"
                                                    else c for c in t.columns))
              if t.table == "registry" else t for t in all_tables()]
    with pytest.raises(UserError, match="staging.registry: column shop_name is VARCHAR, the yml says BIGINT"):
        ddl.render_new_migration(tables, folder=migrations_copy)


def test_a_yml_column_without_a_migration_fails_at_connect(tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    connect_writer(db).close()  # a warehouse in step with the ymls
    monkeypatch.setattr(schema_check, "all_tables", lambda: _with_new_column("complaints_12315", "channel"))
    with pytest.raises(SchemaMismatch) as caught:
        connect_writer(db)
    message = str(caught.value)
    assert "staging.complaints_12315: column channel (VARCHAR) is missing" in message
    assert "python -m pipelines.ingest.ddl --new-migration" in message
    assert caught.value.exit_code == 1


def test_a_warehouse_missing_a_column_fails_at_connect(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    con = connect_writer(db)
    con.execute("ALTER TABLE staging.penalties DROP COLUMN penalty_content")
    con.close()
    with pytest.raises(SchemaMismatch, match=r"staging\.penalties: column penalty_content \(VARCHAR\) is missing"):
        connect_writer(db)


def test_migrations_are_idempotent_on_rerun(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    con = connect_writer(db)
    version = current_version(con)
    schema = {t: _columns(con, t) for t in schema_check.warehouse_schema(con)}
    con.close()
    con = connect_writer(db)  # a second connect applies nothing
    assert current_version(con) == version
    assert con.execute("SELECT count(*) FROM meta.schema_migrations").fetchall()[0][0] == len(migration_files())
    for _, _, sql in migration_files():  # and every migration's own text can run again without effect
        con.execute(sql)
    assert {t: _columns(con, t) for t in schema_check.warehouse_schema(con)} == schema
