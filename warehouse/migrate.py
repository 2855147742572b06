"""Numbered SQL migrations (warehouse/migrations/NNN_name.sql), each applied once, in order."""

from __future__ import annotations

import re
from importlib import resources

import duckdb

_NAME_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, file name, SQL text) for every migration shipped in the package."""
    folder = resources.files("warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number: {[n for _, n, _ in found]}")
    return found


def apply_migrations(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not yet recorded; return the schema version now in force."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    for version, name, sql in migration_files():
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO meta.schema_migrations VALUES ($v, $n, now()::TIMESTAMP)",
                {"v": version, "n": name},
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return current_version(con)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_migrations").fetchall()
    return int(row[0][0])
