"""No SQL of the product picks a value with any_value(): its pick among rows that disagree depends on thread timing,
so a rerun of the same date on the same rows could carry another platform, region, shop or USCC to a lead
(ARCHITECTURE, "The same rows give the same lead"). A value is chosen by a rule instead: min(), mode() over ordered
values, arg_max() over a key that ends in the value itself or a unique id. Read from the files, not from a list."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANY_VALUE = re.compile(r"\bany_value\s*\(", re.IGNORECASE)


def sql_files():
    yield from sorted((ROOT / "indicators").rglob("*.sql"))
    yield from sorted((ROOT / "warehouse").rglob("*.sql"))


def python_files():
    for top in ("indicators", "pipelines", "warehouse", "expectations", "dags", "benchmarks"):
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
