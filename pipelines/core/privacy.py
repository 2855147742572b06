"""Masking personal data in free text (complaint narratives, 投诉内容, review comments).

One list of patterns, used two ways: `mask_text(s)` in Python, and `sql_mask(expr)` which returns a
DuckDB expression (a chain of regexp_replace over a whole column: vectorised, no Python per row).
The patterns are RE2-compatible (DuckDB) and behave the same under Python's `re`.

Masked: e-mail addresses, 18-character resident ID numbers (行政区划 + birth date + sequence + check;
masked whether or not the check character is right: a mistyped ID is still personal data), bank
card numbers (16-19 digits, also in groups), Chinese mobile numbers (also split by spaces or
hyphens, with +86/86 prefix) and landlines (区号 + 7-8 digits). Full-width digits are folded to
ASCII first. CFPB redactions (XXXX, XX/XX/XXXX) hold no digits and are left as they are.
"""

from __future__ import annotations

import re

# Full-width digits, letters and the symbols that occur inside numbers and addresses fold to ASCII
# first, so ＡＢＣ＠ｑｑ．ｃｏｍ and １３８… are masked like their ASCII twins. Chinese punctuation
# (，：；！？) is left as written.
_FW_RANGES = [(0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)]
FULLWIDTH_FROM = "".join(chr(c) for a, b in _FW_RANGES for c in range(a, b + 1)) + "＋－（）＠．＿\u3000"
FULLWIDTH_TO = "".join(chr(c - 0xFEE0) for a, b in _FW_RANGES for c in range(a, b + 1)) + "+-()@._ "
_FOLD = str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)

# (name, pattern, replacement). Order matters: longer numbers first. Each pattern starts with
# (^|[^0-9A-Za-z]) so it never bites into a longer run of digits; RE2 has no look-around.
PATTERNS: list[tuple[str, str, str]] = [
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "[邮箱]"),
    (
        "resident_id",
        # also written in groups: 110101 19900307 4514, 110101-19900307-4514
        r"(^|[^0-9A-Za-z])[1-9][0-9]{5}[ -]?(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[ -]?[0-9]{3}[0-9Xx]",
        r"\1[身份证号]",
    ),
    ("bank_card", r"(^|[^0-9A-Za-z])[0-9]{4}([ -]?[0-9]{4}){2}([ -]?[0-9]){4,7}", r"\1[银行卡号]"),
    ("mobile", r"(^|[^0-9A-Za-z])(\+?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){8}", r"\1[手机号]"),
    ("landline", r"(^|[^0-9A-Za-z])(\(0[0-9]{2,3}\)|0[0-9]{2,3})[ -]?[0-9]{3,4}[ -]?[0-9]{4}", r"\1[电话]"),
]

_COMPILED = [(name, re.compile(p), r) for name, p, r in PATTERNS]


def mask_text(s: str | None) -> str | None:
    """Mask personal data in one string (None stays None)."""
    if s is None:
        return None
    text = s.translate(_FOLD)
    for _name, rx, repl in _COMPILED:
        text = rx.sub(repl, text)
    return text


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_mask(expr: str) -> str:
    """A DuckDB SQL expression masking `expr` (an SQL expression of type VARCHAR)."""
    out = f"translate({expr}, {_lit(FULLWIDTH_FROM)}, {_lit(FULLWIDTH_TO)})"
    for _name, pattern, repl in PATTERNS:
        out = f"regexp_replace({out}, {_lit(pattern)}, {_lit(repl)}, 'g')"
    return out


def register(con) -> None:
    """Create the temporary SQL macro mm_mask(s) on a DuckDB connection."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO mm_mask(s) AS {sql_mask('s')}")
