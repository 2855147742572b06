"""One personal-data rule set (pipelines.core.privacy): the masker masks what the gate looks for, in Python
and in DuckDB alike, masking is idempotent, and real complaint narratives are not mangled."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path

import duckdb
import pytest
from stdnum import luhn
from stdnum.cn import ric

from pipelines.core import privacy

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
CFPB = REAL / "cfpb_consumer_complaints" / "complaints_sample.csv"

HEX_ORDER = "7c3e9a" + "14" + "123456789" + "f0d2b8e1a4c6d9e"  # 32 hex chars, eleven digits 14… inside
assert re.fullmatch(r"[0-9a-f]{32}", HEX_ORDER)
ID_NUMBERS = ["110101199003074514", "11010519491231002X"]
CARDS = ["6222021234567890128", "4111111111111111"]

# (text, the secret that must be gone after masking, the rule that finds it)
PLANTED = [
    ("我的手机13812345678请回电", "13812345678", "mobile"),
    ("手机 138 1234 5678", "138 1234 5678", "mobile"),
    ("手机 138-1234-5678", "138-1234-5678", "mobile"),
    ("电话+86 13812345678", "13812345678", "mobile"),
    ("电话+86-138-1234-5678", "1234-5678", "mobile"),
    ("电话８６１３８１２３４５６７８", "13812345678", "mobile"),
    ("全角１３８１２３４５６７８", "１３８１２３４５６７８", "mobile"),
    ("全角１３８－１２３４－５６７８", "１２３４", "mobile"),
    ("tel13812345678 glued to letters", "13812345678", "mobile"),
    (f"订单号{HEX_ORDER}未发货", "14123456789", "mobile"),  # issue 19 hole 11: mask where unsure
    ("座机010-62345678", "62345678", "landline"),
    ("座机(021)12345678", "12345678", "landline"),
    ("座机0755 8765 4321", "8765 4321", "landline"),
    ("身份证110101199003074514", "110101199003074514", "resident_id"),
    ("身份证11010519491231002X", "11010519491231002X", "resident_id"),
    ("身份证 110101 19900307 4514", "19900307", "resident_id"),
    ("身份证１１０１０１１９９００３０７４５１４", "１１０１０１", "resident_id"),
    ("卡号6222021234567890128", "6222021234567890128", "bank_card"),
    ("卡号 6222 0212 3456 7890", "6222 0212 3456 7890", "bank_card"),
    ("card 4111-1111-1111-1111 expired", "4111-1111-1111-1111", "bank_card"),
    ("卡号6222021234567890124（末位错）", "6222021234567890124", "bank_card"),  # Luhn-invalid: masked anyway
    ("订单号 24598765432109876543210 未退款", "24598765432109876543210", "bank_card"),  # long run: masked whole
    ("mail zhang.san@example.com.cn ok", "zhang.san@example.com.cn", "email"),
    ("邮箱ＺＨＡＮＧ＠ＱＱ．ＣＯＭ", "ＺＨＡＮＧ", "email"),
]

# texts with numbers that are not personal data: nothing is masked
CLEAN = [
    "On XX/XX/XXXX I paid {$21.00} to XXXX XXXX, order 2019-05-01, 3 items",
    "2026-10-30 14:00:37 下单，金额 1,299.00 元，优惠 200 元",
    "订单号 OD202610300000371，观测 PO20261029-00002494，店铺 TM100169",
    "投诉于2024年6月3日登记，编号 12315-2024-000123",
    "price 13.80 per kg, 12 items, 2 x 138 g",
    "zip 330XX, account ending XXXX1234",
]


def test_the_planted_numbers_are_real_numbers():
    assert all(ric.is_valid(n) for n in ID_NUMBERS)
    assert all(luhn.is_valid(c) for c in CARDS)
    assert not luhn.is_valid("6222021234567890124")


@pytest.mark.parametrize("text,secret,rule", PLANTED, ids=[p[2] + ":" + p[0][:12] for p in PLANTED])
def test_the_masker_masks_what_the_gate_finds(text, secret, rule):
    assert rule in privacy.personal_data_rules(text)  # the gate would block the unmasked text
    masked = privacy.mask_text(text)
    assert secret not in masked and privacy.fold(secret) not in masked and "[" in masked
    assert privacy.personal_data_rules(masked) == []  # and accepts what the masker leaves
    con = duckdb.connect()
    privacy.register(con)
    sql_masked, sql_before, sql_after = con.execute(
        "SELECT mm_mask($s), mm_personal_data($s), mm_personal_data(mm_mask($s))", {"s": text}).fetchall()[0]
    assert sql_masked == masked  # DuckDB (RE2) and Python agree
    assert rule in sql_before.split(",") and sql_after is None


@pytest.mark.parametrize("text", CLEAN)
def test_numbers_that_are_not_personal_data_stay(text):
    assert privacy.personal_data_rules(text) == []
    assert privacy.mask_text(text) == text


def test_masking_is_idempotent_and_python_and_sql_agree_on_random_texts():
    """Seeded random texts of digits, separators, letters and full-width forms: whatever the masker leaves,
    the gate accepts (mask is a fixed point of itself), in Python and in DuckDB."""
    rnd = random.Random(19)
    pieces = list("0123456789") * 5 + list(" -+()@._xXaFf手") + ["１", "３", "８", "－", "　", "86", "+86 ", "13",
                                                                 "14", "010-", "(021)", "19900307", "110101"]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(3, 70))) for _ in range(8000)] + [HEX_ORDER * 3]
    con = duckdb.connect()
    privacy.register(con)
    con.execute("CREATE TABLE t (i INTEGER, s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    rows = con.execute("SELECT i, mm_mask(s), mm_personal_data(mm_mask(s)) FROM t ORDER BY i").fetchall()
    disagree = [texts[i] for i, m, _ in rows if m != privacy.mask_text(texts[i])]
    leftover = [texts[i] for i, m, found in rows if found is not None or privacy.personal_data_rules(m)]
    assert disagree == [] and leftover == []
    assert sum(m != texts[i] for i, m, _ in rows) > 1000  # the texts did contain numbers to mask


# --------------------------------------------------------------------------- identifiers in evidence

@pytest.mark.parametrize("key,value,is_id,valid", [
    ("review_ids", HEX_ORDER, True, True),
    ("review_ids", "rv000007083", True, True),
    ("complaint_ids", "TS2114002026101000008", True, True),
    ("observation_id", "PO20261029-00002494", True, True),
    ("complaint_ids", "3384392", True, True),  # CFPB
    ("first_order_ids_sample", "OD202610300000231", True, True),
    ("shop_a", "TM100169", True, True),
    ("top_buyer_id", "13812345678", True, False),  # a phone used as buyer id is personal data
    ("top_buyer_id", "+8613812345678", True, False),
    ("buyer_id", "110101199003074514", True, False),
    ("buyer_id", "zhang@example.com", True, False),
    ("shop_id", "张三的店", True, False),
    ("category", "服装鞋帽", False, None),
    ("paid", "x", False, None),
])
def test_identifier_fields_are_validated_as_identifiers(key, value, is_id, valid):
    assert privacy.is_identifier_key(key) == is_id
    if is_id:
        assert privacy.is_valid_identifier(value) == valid


def _findings(evidence: str):
    con = duckdb.connect()
    return con.execute(f"SELECT e.* FROM (SELECT $e AS evidence) f "
                       f"LEFT JOIN LATERAL {privacy.sql_evidence_findings('f.evidence')} AS e ON true",
                       {"e": evidence}).fetchall()[0]


def test_evidence_findings_in_sql():
    review_ids = '["' + HEX_ORDER + '", "3f2a14987654321bcd0e9f8a7b6c5d4e"]'
    assert _findings('{"review_ids": ' + review_ids + ', "reviews_today": 31, "p": 0.13812345678901}') == (None, None)
    assert _findings('{"category": "手机13812345678", "note": "a@b.cn"}') == ("category:mobile,note:email", None)
    assert _findings('{"top_buyer_id": "13812345678", "order_ids": ["OD1", "bad id"]}') == (
        None, "order_ids,top_buyer_id")
    assert _findings('{"pairs": [{"shop_a": "TM1", "shop_b": "TM 2"}]}') == (None, "shop_b")
    assert _findings("not json") == (None, None)  # the JSON-parseable expectation reports it


# --------------------------------------------------------------------------- real complaint narratives

@pytest.mark.skipif(not CFPB.exists(), reason=f"real CFPB complaints not present at {CFPB}")
def test_real_cfpb_narratives_are_left_alone_and_pass_the_gate():
    """CFPB redacts personal data as XXXX before publishing; the masker must not mangle its narratives
    (no false-positive storm) and the gate must accept every masked narrative."""
    text = CFPB.read_text(encoding="utf-8")
    header = text.index("Date received,")  # the sample starts with two lines of unzip's output
    narratives = [r["Consumer complaint narrative"] for r in csv.DictReader(io.StringIO(text[header:]))]
    narratives = [n for n in narratives if n]
    assert len(narratives) > 500
    con = duckdb.connect()
    privacy.register(con)
    con.execute("CREATE TABLE n (i INTEGER, s VARCHAR)")
    con.executemany("INSERT INTO n VALUES (?, ?)", list(enumerate(narratives)))
    changed, leftover = con.execute(
        "SELECT count(*) FILTER (WHERE mm_mask(s) <> s), count(*) FILTER (WHERE mm_personal_data(mm_mask(s)) IS NOT NULL) "
        "FROM n").fetchall()[0]
    assert leftover == 0
    assert changed / len(narratives) < 0.01, f"{changed} of {len(narratives)} real narratives changed by the masker"


def test_a_digit_glued_number_after_a_parenthesised_area_code_is_masked_in_one_pass():
    text = "05121101013(021)887777532"  # found by the random test: two landlines glued together
    masked = privacy.mask_text(text)
    assert masked == "[电话][电话]" and privacy.personal_data_rules(masked) == []
