"""No SQL of the product picks a value with any_value(): its pick among rows that disagree depends on thread timing,
so a rerun of the same date on the same rows could carry another platform, region, shop or USCC to a lead
(ARCHITECTURE, "The same rows give the same lead"). A value is chosen by a rule instead: min(), mode() over ordered
values, arg_max() over a key that ends in the value itself or a unique id. Read from the files, not from a list:
every any_value() call is found, and every arg_min()/arg_max() whose key could tie (its last element neither the
value itself nor an *_id column) must be one of the few listed below with why its key is unique."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANY_VALUE = re.compile(r"\bany_value\s*\(", re.IGNORECASE)
ARG_CALL = re.compile(r"\barg_(?:min|max)(?:_null)?\s*\(", re.IGNORECASE)

# (file, the key's last element): why the key is unique within the group, so the pick cannot tie
UNIQUE_KEYS = {
    ("indicators/marts/price_anomalies.sql", "promo_start"):
        "pre_promo_runup has one row per shop, SKU and promotion start: the figures of one promotion",
    ("pipelines/publish/views.py", "window_start"):
        "indicator_flags' key is indicator, entity and window_start within a day: every figure of one flag row",
    ("pipelines/ingest/transform.py", "o._r"): "a file's row number, with the file name: one row",
    ("warehouse/db.py", "memory_usage_bytes"): "not a struct key: the largest memory tag in a log line",
}


def sql_files():
    yield from sorted((ROOT / "indicators").rglob("*.sql"))
    yield from sorted((ROOT / "warehouse").rglob("*.sql"))


def python_files():
    for top in ("indicators", "pipelines", "warehouse", "expectations", "dags"):  # the product, not the benchmarks
        yield from sorted((ROOT / top).rglob("*.py"))


def hits(text: str, comment: str) -> list[tuple[int, str]]:
    """(line number, line) of each any_value( call outside comments; `comment` is the file's own comment mark."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        code = "" if comment == "#" and line.lstrip().startswith("#") else line
        code = code.split("--", 1)[0]  # SQL comments, also in SQL held in Python strings
        if ANY_VALUE.search(code):
            found.append((n, line.strip()))
    return found


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + [cur.strip()]


def tie_prone_args(text: str) -> list[tuple[int, str, str]]:
    """(line, call, the key's last element) of each arg_min/arg_max whose key does not end in its value or an
    *_id column (comments left out)."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    found = []
    for m in ARG_CALL.finditer(code):
        depth, j = 1, m.end()
        while depth and j < len(code):
            depth += (code[j] == "(") - (code[j] == ")")
            j += 1
        parts = _split_top(code[m.end():j - 1])
        if depth or len(parts) != 2:
            continue  # not a call in SQL text (a Python expression cut by string quotes)
        value, key = parts
        last = _split_top(key[1:-1])[-1] if key.startswith("(") and key.endswith(")") else key
        if last != value and not re.search(r"_id$", last):
            found.append((code.count("\n", 0, m.start()) + 1, " ".join(code[m.start():j].split()), last))
    return found


def test_every_arg_min_max_key_is_unique():
    found = {}
    for p in [*sql_files(), *python_files()]:
        rel = str(p.relative_to(ROOT))
        for n, call, last in tie_prone_args(p.read_text(encoding="utf-8")):
            if (rel, last) not in UNIQUE_KEYS:
                found[f"{rel}:{n}"] = call
    assert found == {}


def test_the_key_check_finds_a_tie():
    sql = ("SELECT arg_min(s.observation_id, (s.reference_price, s.observed_date)) AS a,\n"
           "       arg_min(s.observation_id, (s.reference_price, s.observation_id)) AS b,\n"
           "       arg_max(price, (reference_price, price)) AS c FROM s -- arg_max(x, y) in a comment\n")
    assert [(n, last) for n, _c, last in tie_prone_args(sql)] == [(1, "s.observed_date")]


def test_no_sql_picks_a_value_by_any_value():
    found = [f"{p.relative_to(ROOT)}:{n}: {line}" for p in sql_files()
             for n, line in hits(p.read_text(encoding="utf-8"), "--")]
    found += [f"{p.relative_to(ROOT)}:{n}: {line}" for p in python_files()
              for n, line in hits(p.read_text(encoding="utf-8"), "#")]
    assert found == []


def test_the_check_finds_a_use_and_skips_comments():
    sql = "-- any_value() in a comment is fine\nSELECT shop_id, ANY_VALUE (platform) FROM t GROUP BY 1\n"
    assert hits(sql, "--") == [(2, "SELECT shop_id, ANY_VALUE (platform) FROM t GROUP BY 1")]
    py = '# any_value( in a comment\nSQL = "SELECT any_value(x) FROM t"  # the call\n'
    assert hits(py, "#") == [(2, 'SQL = "SELECT any_value(x) FROM t"  # the call')]
