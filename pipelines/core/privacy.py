"""The one rule set for personal data: what the masker masks is exactly what the quality gate looks for.

Free text (complaint narratives, 投诉内容, review comments, the free-text fields of a lead's evidence)
is folded (full-width digits and letters to ASCII) and then matched against PATTERNS. The masker
replaces every match (`mask_text` in Python, `sql_mask` / the SQL macro mm_mask in DuckDB: a chain of
regexp_replace over a whole column, vectorised); the gate's checks (`sql_personal_data_rules`) run the
same patterns and fail on any match. Masking is idempotent (tests/privacy), so what the masker leaves
the gate accepts. The patterns are RE2-compatible (DuckDB) and behave the same under Python's `re`.

Where unsure, mask. A number is "personal" by its shape, not by context:
- e-mail addresses;
- 18-character resident ID numbers (行政区划 + birth date + sequence + check), also in groups, whether
  or not the check character is right (a mistyped ID is still personal data);
- bank card numbers: 16-19 digits, also in groups of four, whether or not the Luhn digit is right;
- mainland mobile numbers (1[3-9] + 9 digits, also split by spaces or hyphens, with +86/86);
- landlines (区号 + 7-8 digits, also written (021) 12345678).
A number only has to start after something that is not a digit: a mobile-shaped run glued to letters
(tel13812345678, or the eleven digits 14… inside a hexadecimal order number) is masked, because the
masker cannot tell a glued phone number from part of an id. CFPB redactions (XXXX, XX/XX/XXXX) hold no
digits and stay as they are; dates (2019-05-01), amounts and short numbers are not touched.

Identifiers are not free text. In a lead's evidence JSON, fields holding ids (IDENTIFIER_KEY_REGEX:
keys ending in _id, _ids or _ids_sample, and the shop-id lists of the collusion screens) are validated
as identifiers (IDENTIFIER_VALUE_REGEX, and not a bare phone or ID number), not scanned for numbers
inside them: a 32-character hexadecimal review id with eleven digits 14… in it is an id.
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

# Every number pattern starts with (^|[^0-9]): it never starts inside a longer run of digits (RE2 has
# no look-behind, so the boundary character is captured and put back as \1).
_START = r"(^|[^0-9])"
# (name, pattern, replacement). Order matters: longer numbers first, so an ID number is not eaten by
# the bank-card rule and a card number not by the mobile rule.
PATTERNS: list[tuple[str, str, str]] = [
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "[邮箱]"),
    (
        "resident_id",
        # also written in groups: 110101 19900307 4514, 110101-19900307-4514
        _START + r"[1-9][0-9]{5}[ -]?(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[ -]?[0-9]{3}[0-9Xx]",
        r"\1[身份证号]",
    ),
    # 16-19 digits in one run, or four groups of four (+ up to 3) split by spaces or hyphens as cards are
    # written. Every number pattern ends in [0-9]*: a longer run is masked whole, so no tail of it can
    # read as a new number once its head is masked (masking stays idempotent)
    ("bank_card", _START + r"([0-9]{16}|[0-9]{4}([ -][0-9]{4}){3}([ -][0-9]{1,3})?)[0-9]*", r"\1[银行卡号]"),
    ("mobile", _START + r"(\+?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){8}[0-9]*", r"\1[手机号]"),
    ("landline", _START + r"0[0-9]{2,3}[ -]?[0-9]{3,4}[ -]?[0-9]{4}[0-9]*", r"\1[电话]"),
    # (021) 12345678: the parenthesis is the boundary, even right after another number
    ("landline", r"\(0[0-9]{2,3}\)[ -]?[0-9]{3,4}[ -]?[0-9]{4}[0-9]*", "[电话]"),
]
RULES = tuple(dict.fromkeys(name for name, _, _ in PATTERNS))

_COMPILED = [(name, re.compile(p), r) for name, p, r in PATTERNS]

# --------------------------------------------------------------------------- identifiers in evidence
# A key holding identifiers: *_id, *_ids, *_ids_sample (order/review/observation/complaint/flag/shop/
# buyer ids), and the shop-id fields of the collusion screens (shop_a, shop_b, coreviewed_shops).
IDENTIFIER_KEY_REGEX = r"^([a-z0-9_]*_)?ids?(_sample)?$|^shop_[ab]$|^coreviewed_shops$"
# What an identifier may look like, per kind of id seen in the sources: platform codes (TM100169,
# OD202610300000371, TS2114002026101000008, PO20261029-00002494, u0100000770), 32-character
# hexadecimal ids (Olist orders, reviews, sellers, customers), CFPB's numeric complaint ids, and the
# hexadecimal flag ids of the leads. One ASCII token: no spaces, no @, no Chinese.
IDENTIFIER_KINDS: dict[str, str] = {
    "hexadecimal": r"[0-9a-f]{16,64}",
    "numeric": r"[0-9]{1,24}",
    "code": r"[A-Za-z][A-Za-z0-9]*([._:/#-][A-Za-z0-9]+)*",
    "code_numeric_first": r"[0-9][A-Za-z0-9]*([._:/#-][A-Za-z0-9]+)*",
}
IDENTIFIER_VALUE_REGEX = "^(" + "|".join(f"({p})" for p in IDENTIFIER_KINDS.values()) + ")$"
IDENTIFIER_MAX_LENGTH = 128
# An "id" that is in fact a phone or ID number (a platform using the buyer's mobile as buyer id) is
# personal data however it is labelled.
PERSONAL_ID_VALUE_REGEX = (
    r"^(\+?86)?1[3-9][0-9]{9}$"
    r"|^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$"
)


def fold(s: str) -> str:
    return s.translate(_FOLD)


def mask_text(s: str | None) -> str | None:
    """Mask personal data in one string (None stays None)."""
    if s is None:
        return None
    text = fold(s)
    for _name, rx, repl in _COMPILED:
        text = rx.sub(repl, text)
    return text


def personal_data_rules(s: str | None) -> list[str]:
    """The names of the rules that find personal data in `s` (empty: nothing the masker would mask)."""
    if s is None:
        return []
    text = fold(s)
    return list(dict.fromkeys(name for name, rx, _ in _COMPILED if rx.search(text)))


def is_identifier_key(key: str) -> bool:
    return re.search(IDENTIFIER_KEY_REGEX, key) is not None


def is_valid_identifier(value: str) -> bool:
    """An id of one of IDENTIFIER_KINDS, and not itself a bare phone or ID number."""
    return (len(value) <= IDENTIFIER_MAX_LENGTH and re.search(IDENTIFIER_VALUE_REGEX, value) is not None
            and re.search(PERSONAL_ID_VALUE_REGEX, value) is None)


# --------------------------------------------------------------------------- SQL

def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_fold(expr: str) -> str:
    return f"translate({expr}, {_lit(FULLWIDTH_FROM)}, {_lit(FULLWIDTH_TO)})"


def sql_mask(expr: str) -> str:
    """A DuckDB SQL expression masking `expr` (an SQL expression of type VARCHAR)."""
    out = _sql_fold(expr)
    for _name, pattern, repl in PATTERNS:
        out = f"regexp_replace({out}, {_lit(pattern)}, {_lit(repl)}, 'g')"
    return out


def sql_personal_data_rules(expr: str) -> str:
    """A DuckDB expression: the comma-separated names of the rules matching `expr` (NULL when none, or
    when `expr` is NULL). The gate records rule names, never the text itself."""
    folded = _sql_fold(expr)
    hits = []
    for rule in RULES:
        found = " OR ".join(f"regexp_matches({folded}, {_lit(p)})" for n, p, _ in PATTERNS if n == rule)
        hits.append(f"CASE WHEN {found} THEN {_lit(rule)} END")
    return f"nullif(concat_ws(',', {', '.join(hits)}), '')"


def sql_evidence_findings(evidence: str) -> str:
    """A LATERAL subquery over the JSON `evidence` giving two columns, NULL when clean:
    personal_data_fields (free-text fields where a rule matches, as "key:rule") and
    invalid_identifier_fields (identifier fields whose value is not a valid identifier).
    Only string values are looked at: numbers and booleans are measurements, not text.
    Evidence that is not JSON gives NULLs here (the JSON-parseable expectation reports it)."""
    leaf_key = "regexp_extract(j.fullkey, '([A-Za-z0-9_]+)\"?(\\[[0-9]+\\])*$', 1)"
    text = "json_extract_string(j.value, '$')"
    return f"""(
    SELECT nullif(string_agg(DISTINCT personal, ',' ORDER BY personal), '') AS personal_data_fields,
           nullif(string_agg(DISTINCT invalid_id, ',' ORDER BY invalid_id), '') AS invalid_identifier_fields
    FROM (
        SELECT CASE WHEN NOT is_id AND rules IS NOT NULL THEN field || ':' || rules END AS personal,
               CASE WHEN is_id AND NOT id_ok THEN field END AS invalid_id
        FROM (
            SELECT {leaf_key} AS field,
                   regexp_matches({leaf_key}, {_lit(IDENTIFIER_KEY_REGEX)}) AS is_id,
                   {sql_personal_data_rules(text)} AS rules,
                   length({text}) <= {IDENTIFIER_MAX_LENGTH}
                       AND regexp_matches({text}, {_lit(IDENTIFIER_VALUE_REGEX)})
                       AND NOT regexp_matches({text}, {_lit(PERSONAL_ID_VALUE_REGEX)}) AS id_ok
            FROM json_tree(CASE WHEN json_valid({evidence}) THEN {evidence} ELSE '{{}}' END) AS j
            WHERE j.type = 'VARCHAR'
        ) AS leaves
    ) AS findings
)"""  # noqa: S608 - SQL built from this module's constants and the caller's column expression


def register(con) -> None:
    """Create the temporary SQL macros mm_mask(s) and mm_personal_data(s) on a DuckDB connection."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO mm_mask(s) AS {sql_mask('s')}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO mm_personal_data(s) AS {sql_personal_data_rules('s')}")
