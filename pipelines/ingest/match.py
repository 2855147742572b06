"""Which table of a source takes a landed file, and where that table's columns sit in the file's header.

Ingestion asks these two questions of every landed file; this is the one place that answers them.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

from pipelines.ingest.catalogue import Table, header_key, load_source
from pipelines.ingest.reader import FileRejected


class ColumnMatch(NamedTuple):
    positions: dict[str, int]  # canonical column name -> 1-based position in the file
    extras: list[int]  # positions no column takes (not loaded: the landing file keeps them)
    version: str | None  # the header version (Table.versions) the header shows, if the table has versions


def table_for_file(source: str, name: str) -> Table | None:
    """The first table of `source` whose `file_patterns` match the file name (case-insensitive).
    For a zip member (`archive.zip/folder/file.csv`) the part after the last slash is matched."""
    low = name.lower().rsplit("/", 1)[-1]
    for t in load_source(source).tables:
        if any(fnmatch.fnmatch(low, p.lower()) for p in t.file_patterns):
            return t
    return None


def match_columns(table: Table, header: list[str]) -> ColumnMatch:
    """Map the header onto the table's columns (names and aliases compared by `header_key`).
    Raises FileRejected when a required column is missing or a matched header appears twice."""
    keys = [header_key(h) for h in header]
    mapping: dict[str, int] = {}
    for col in table.columns:
        for k in col.header_keys:
            if k in keys:
                mapping[col.name] = keys.index(k) + 1
                break
    missing = [c for c in table.columns if c.required and c.name not in mapping]
    if missing:
        names = ", ".join(
            repr(c.aliases[0] if c.aliases else c.name)
            + (f" (also accepted: {', '.join(c.aliases[1:])})" if len(c.aliases) > 1 else "")
            for c in missing
        )
        raise FileRejected(
            f"required column {names} is missing; the header has: {', '.join(header)}",
            column=missing[0].aliases[0] if missing[0].aliases else missing[0].name,
        )
    twice = [header[p - 1] for p in mapping.values() if keys.count(keys[p - 1]) > 1]
    if twice:  # which of the two is the value? refuse rather than silently take one
        raise FileRejected(f"column {twice[0]!r} appears more than once in the header; keep one",
                           column=twice[0])
    used = set(mapping.values())
    extras = [i for i in range(1, len(header) + 1) if i not in used]
    version = None
    for vname, detect in table.versions:
        if any(header_key(h) in keys for h in detect):
            version = vname
            break
    return ColumnMatch(mapping, extras, version)
