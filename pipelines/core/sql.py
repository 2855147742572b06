"""SQL text helpers shared by every stage: quoting, parameter binding, content hashes.

DuckDB binds values with `$name` parameters, which is always preferred; these helpers are for the
places where SQL cannot take a parameter (identifiers, DDL, table functions such as `read_parquet`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_CHUNK = 1 << 20


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted, with embedded quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: object) -> str:
    """A SQL string literal, single-quoted, with embedded quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def bind(sql: str, values: dict) -> dict:
    """Only the `$name` parameters the statement uses (DuckDB rejects unused named parameters).

    Raises KeyError naming the parameters the statement needs but `values` lacks."""
    wanted = set(_PARAM_RE.findall(sql))
    missing = wanted - set(values)
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)} that were not given")
    return {name: values[name] for name in wanted}


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
