"""Masking of personal data in free text: Python and SQL forms agree, including awkward writings."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.core.privacy import mask_text, register

CASES = [
    ("身份证 110101 19900307 4514 请核实", "110101"),
    ("身份证110101-19900307-4514", "4514"),
    ("电话 024-2345 6789 找王先生", "2345"),
    ("电话（024）23456789", "23456789"),
    ("邮箱 ＡＢＣ＠ｑｑ．ｃｏｍ", "ＡＢＣ"),
    ("手机 １３８ ００１３ ８０００", "８０００"),
    ("手机+86 138-0013-8000", "8000"),
    ("卡号 6222 0212 3456 7890 123", "7890"),
]


@pytest.mark.parametrize("text,secret", CASES)
def test_python_mask_removes_the_number(text, secret):
    masked = mask_text(text)
    assert secret not in masked and secret.translate(str.maketrans("０１２３４５６７８９", "0123456789")) not in masked
    assert "[" in masked


def test_sql_mask_equals_python_mask():
    con = duckdb.connect()
    register(con)
    for text, _ in CASES + [("订单号 12345 无个人信息", ""), ("XXXX redacted by CFPB on XX/XX/XXXX", "")]:
        assert con.execute("SELECT mm_mask(?)", [text]).fetchall()[0][0] == mask_text(text)


def test_text_without_personal_data_is_unchanged_apart_from_width():
    assert mask_text("XXXX redacted by CFPB on XX/XX/XXXX") == "XXXX redacted by CFPB on XX/XX/XXXX"
    assert mask_text("订单 12345 退款 299 元") == "订单 12345 退款 299 元"
