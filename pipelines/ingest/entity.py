"""Entity resolution helpers: legal-entity names normalised for a conservative exact match.

Records are joined to legal entities by 统一社会信用代码 wherever a source carries one (the register
links platform shops to codes). Only a record without a usable code falls back to its name, and only
to an *exact* match of the normalised name against exactly one registered entity, with a recorded
confidence (see docs/CREDIT_TIERS.md §1). No fuzzy matching: an ambiguous or unknown name stays
unmatched and is listed in the `entity_matches` mart, never guessed.

Normalisation (the same in Python and in SQL; tests/indicators/credit/test_entity.py keeps them equal):
  1. Unicode NFKC (full-width letters, digits, brackets and spaces folded to ASCII);
  2. brackets of every kind removed, their content kept: 某某（沈阳）科技 -> 某某沈阳科技;
  3. whitespace and the punctuation · . , - _ & removed; Latin letters lower-cased;
  4. one legal-form suffix removed at the end (longest first): 股份有限公司, 有限责任公司, 有限公司.
     公司 alone is NOT removed (too generic), nor 集团 (a group parent is another entity than its
     subsidiary), nor 分公司/店 (a branch is another entity).
A name that normalises to the key of two or more registered entities is ambiguous, even when its
exact text equals one of them.

`register(con)` creates the TEMP macro `mm_name_norm(s)` and the vectorised arrow UDF `mm_nfkc(s)`
(pyarrow.compute.utf8_normalize, no Python per row) on a DuckDB connection.
"""

from __future__ import annotations

import re
import unicodedata

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# longest first: the first suffix that matches at the end is removed (only one)
LEGAL_FORM_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司")
BRACKETS = "()[]{}<>（）【】〔〕［］｛｝〈〉《》「」『』"
PUNCTUATION = "·•・.,，、-_&"

_STRIP_CHARS = BRACKETS + PUNCTUATION
_STRIP_RE = re.compile("[" + re.escape(_STRIP_CHARS) + r"\s]+")
_SUFFIX_RE = "(" + "|".join(LEGAL_FORM_SUFFIXES) + ")$"

# confidence recorded for each way a record was tied to a legal entity
CONFIDENCE = {
    "uscc": 1.0,             # the record's own 统一社会信用代码 equals a registered one
    "name_exact": 0.95,      # no usable code; the NFKC-folded name equals exactly one registered name
    "name_normalised": 0.9,  # no usable code; the normalised name equals exactly one registered name
    "unmatched": 0.0,
}


def normalise_name(name: str | None) -> str | None:
    """The match key of a legal-entity name (None or empty -> None)."""
    if name is None:
        return None
    text = unicodedata.normalize("NFKC", name)
    text = _STRIP_RE.sub("", text).lower()
    text = re.sub(_SUFFIX_RE, "", text)
    return text or None


def _sql_lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _nfkc_arrow(values: pa.Array) -> pa.Array:
    return pc.utf8_normalize(values, form="NFKC")


def sql_name_norm_body() -> str:
    """Body of the `mm_name_norm(s)` macro (needs `mm_nfkc` registered on the connection)."""
    strip_class = "[" + re.escape(_STRIP_CHARS).replace("'", "''") + r"\s]+"
    return (
        "nullif(regexp_replace(lower(regexp_replace(mm_nfkc(s), "
        f"{_sql_lit(strip_class)}, '', 'g')), {_sql_lit(_SUFFIX_RE)}, ''), '')"
    )


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create mm_nfkc (vectorised arrow UDF) and mm_name_norm (macro) on this connection."""
    try:
        con.create_function("mm_nfkc", _nfkc_arrow, ["VARCHAR"], "VARCHAR", type="arrow")
    except duckdb.Error as exc:  # already registered on this connection
        if "already" not in str(exc).lower():
            raise
    con.execute(f"CREATE OR REPLACE TEMP MACRO mm_name_norm(s) AS {sql_name_norm_body()}")
