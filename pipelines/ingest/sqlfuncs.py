"""DuckDB macros used by ingestion: strict parsing of numbers, dates, timestamps, booleans, and the
GB 32100-2015 check of 统一社会信用代码 in SQL (same rule as stdnum.cn.uscc; cross-checked in tests).
All are TEMP macros created per connection by `register(con)`; they hold no values from files."""

from __future__ import annotations

from pipelines.core import privacy

# imported for its side effect: it registers the raw/staging-vs-yml schema check run at every connect
# (warehouse.migrate.register_schema_check); every writer path imports ingestion, hence here
from pipelines.ingest import schema_check  # noqa: F401

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
FW = "".join(chr(0xFF10 + i) for i in range(10)) + "".join(chr(0xFF21 + i) for i in range(26)) + \
    "".join(chr(0xFF41 + i) for i in range(26)) + "\u3000－"
HW = "0123456789" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz" + " -"
USCC_WEIGHTED_SUM = " + ".join(
    f"(strpos('{USCC_ALPHABET}', substr(c, {k + 1}, 1)) - 1) * {w}" for k, w in enumerate(USCC_WEIGHTS))
FINE_RE = r"罚款(人民币)?\s*([0-9][0-9,]*(\.[0-9]+)?)\s*(万元|元)"

MACROS = [
    # nullif(trim(s), ''), without trim's copy in the common case: trim removes U+0020 and 16 non-ASCII spaces
    # (U+00A0, U+3000, ...), and walks every character of the string to find its end; a string of ASCII only
    # (strlen = length) can only lose a leading or trailing U+0020, so it is returned as it is when it has
    # neither. tests/ingest/test_typed_read.py compares both forms.
    "mm_trim(s) AS CASE WHEN strlen(s) = length(s) AND NOT starts_with(s, ' ') AND NOT ends_with(s, ' ') "
    "THEN nullif(s, '') ELSE nullif(trim(s), '') END",
    # numbers: ¥/￥ and spaces stripped; thousands separators only in the right places
    "mm_numtext(s) AS replace(replace(replace(replace(s, '¥', ''), '￥', ''), ' ', ''), chr(12288), '')",
    "mm_num(s) AS CASE WHEN regexp_full_match(s, '[0-9]{1,18}(\\.[0-9]{1,10})?') THEN TRY_CAST(s AS DECIMAL(38, 10)) "
    "WHEN regexp_full_match(mm_numtext(s), "
    "'[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]+)?|[+-]?\\.[0-9]+') "
    "THEN TRY_CAST(replace(mm_numtext(s), ',', '') AS DECIMAL(38, 10)) END",
    "mm_int(s) AS CASE WHEN regexp_full_match(s, '[+-]?[0-9]+(\\.0+)?') "
    "THEN TRY_CAST(regexp_replace(s, '\\.0+$', '') AS BIGINT) END",
    # timestamps: naive local time, or ISO 8601 with an offset converted to Asia/Shanghai
    "mm_ts(s) AS CASE WHEN length(s) = 19 AND regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}') "
    "THEN TRY_CAST(s AS TIMESTAMP) "
    "WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?)?') "
    "THEN TRY_CAST(replace(s, 'T', ' ') AS TIMESTAMP) "
    "WHEN regexp_full_match(s, '[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?') "
    "THEN TRY_CAST(replace(s, '/', '-') AS TIMESTAMP) "
    "WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)') "
    "THEN TRY_CAST(TRY_CAST(s AS TIMESTAMPTZ) AT TIME ZONE 'Asia/Shanghai' AS TIMESTAMP) END",
    "mm_date(s) AS CASE "
    "WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') THEN CAST(try_strptime(s, '%Y-%m-%d') AS DATE) "
    "WHEN regexp_full_match(s, '[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}') THEN CAST(try_strptime(s, '%Y/%m/%d') AS DATE) "
    "WHEN regexp_full_match(s, '[0-9]{8}') THEN CAST(try_strptime(s, '%Y%m%d') AS DATE) "
    "WHEN regexp_full_match(s, '[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日') THEN CAST(try_strptime(s, '%Y年%m月%d日') AS DATE) "
    # a timestamp in a date column: the calendar date as written (no time-zone shift of a date)
    "WHEN regexp_matches(s, '^[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}[ T][0-9]') AND mm_ts(s) IS NOT NULL "
    "THEN CAST(try_strptime(replace(regexp_extract(s, '^([0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2})', 1), '/', '-'), '%Y-%m-%d') AS DATE) END",
    "mm_bool(s) AS CASE WHEN lower(s) IN ('true', '1', '是', 'yes', 'y', 't') THEN true "
    "WHEN lower(s) IN ('false', '0', '否', 'no', 'n', 'f') THEN false END",
    # 统一社会信用代码: NFKC-style fold of full-width letters/digits, spaces and hyphens removed, upper-case
    f"mm_uscc_norm(s) AS nullif(upper(replace(replace(translate(s, '{FW}', '{HW}'), ' ', ''), '-', '')), '')",
    # (the weighted sum is written out term by term: a list_transform lambda over range(17) per row took 11 s for
    # 70,000 codes here; the unrolled sum takes 0.4 s and gives the same answer)
    "mm_uscc_valid(c) AS CASE WHEN c IS NULL THEN NULL "
    f"WHEN NOT regexp_full_match(c, '[0-9]{{8}}[{USCC_ALPHABET}]{{10}}') THEN false "
    f"ELSE substr('{USCC_ALPHABET}', CAST((31 - ({USCC_WEIGHTED_SUM}) % 31) % 31 AS BIGINT) + 1, 1) "
    "= substr(c, 18, 1) END",
    # 罚款: v2 gives 万元 in its own column; v1 only has it in the text of 处罚结果
    f"mm_fine_unit(wan, txt) AS CASE WHEN wan IS NOT NULL THEN '万元' "
    f"ELSE nullif(regexp_extract(txt, '{FINE_RE}', 4), '') END",
    f"mm_fine_yuan(wan, txt) AS TRY_CAST(coalesce(wan * 10000, "
    f"TRY_CAST(replace(nullif(regexp_extract(txt, '{FINE_RE}', 2), ''), ',', '') AS DECIMAL(38, 6)) "
    f"* CASE regexp_extract(txt, '{FINE_RE}', 4) WHEN '万元' THEN 10000 ELSE 1 END) AS DECIMAL(18, 2))",
    f"mm_fine_source(wan, txt) AS CASE WHEN wan IS NOT NULL THEN '罚款金额(万元)' "
    f"WHEN regexp_extract(txt, '{FINE_RE}', 2) <> '' THEN 'penalty_content' END",
]


def register(con) -> None:
    for body in MACROS:
        con.execute(f"CREATE OR REPLACE TEMP MACRO {body}")
    privacy.register(con)
