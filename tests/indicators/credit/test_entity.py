"""Entity resolution: name normalisation (Python = SQL), conservative matching, real USCCs."""

from __future__ import annotations

import csv

import pytest
from stdnum.cn import uscc as stdnum_uscc

from indicators.credit import tiers
from pipelines.ingest.entity import normalise_name, register
from tests.indicators.credit.conftest import RUN, VERSIONS, rows
from tests.indicators.credit.given import penalty, shop, uscc

NAMES = [
    "沈阳某某科技有限公司", "沈阳某某科技（集团）股份有限公司", "ＡＢＣ　贸易有限责任公司", "A·B-C (沈阳) 商贸 有限公司",
    "大连【海鲜】食品有限公司", "鞍山市某某商店", "某某集团有限公司", "有限公司", "", None, "O'Neil 贸易有限公司",
    "锦州〔新华〕书店股份有限公司分公司",
]


def test_normalisation_folds_width_brackets_and_legal_form():
    assert normalise_name("沈阳某某科技（集团）有限公司") == normalise_name("沈阳某某科技(集团)有限责任公司") == "沈阳某某科技集团"
    assert normalise_name("ＡＢＣ贸易有限公司") == "abc贸易"
    assert normalise_name("沈阳某某科技有限公司") != normalise_name("沈阳某某科技有限公司分公司")  # a branch is another entity
    assert normalise_name("有限公司") is None and normalise_name("  ") is None


def test_sql_normalisation_equals_python(mem_warehouse):
    register(mem_warehouse)
    for name in NAMES:
        got = mem_warehouse.execute("SELECT mm_name_norm(?)", [name]).fetchall()[0][0]
        assert got == normalise_name(name), name


def test_matching_is_by_code_then_unique_name_and_never_guesses(con):
    a, b, c, d = uscc(1), uscc(2), uscc(3), uscc(4)
    shop(con, "S1", a, name="沈阳甲科技有限公司")
    shop(con, "S2", b, name="沈阳乙商贸有限公司")
    shop(con, "S3", c, name="沈阳丙食品有限公司")
    shop(con, "S4", d, name="沈阳丙食品有限责任公司")  # same normalised name as S3: ambiguous
    shop(con, "S5", None, name="沈阳乙商贸有限公司")    # a shop without a code, tied by name
    by_code = penalty(con, a, "2026-05-01", fine_wan=1, name="完全不同的名字")
    by_name = penalty(con, None, "2026-05-01", fine_wan=1, name="沈阳乙商贸（有限责任公司）")
    exact = penalty(con, "BADCODE", "2026-05-01", fine_wan=1, name="沈阳甲科技有限公司", valid=False)
    ambiguous = penalty(con, None, "2026-05-01", fine_wan=1, name="沈阳丙食品有限公司")
    elsewhere = penalty(con, uscc(99), "2026-05-01", fine_wan=1, name="沈阳甲科技有限公司")
    unknown = penalty(con, None, "2026-05-01", fine_wan=1, name="营口丁有限公司")
    person = penalty(con, None, "2026-05-01", fine_wan=1, name="张某某", party_type="自然人")
    tiers.build_entity_matches(con, RUN, VERSIONS)
    got = {r["record_key"]: r for r in rows(con, "SELECT * FROM work.mart__entity_matches")}
    assert (got[by_code]["match_method"], got[by_code]["matched_uscc"], got[by_code]["match_confidence"]) == ("uscc", a, 1.0)
    assert (got[by_name]["match_method"], got[by_name]["matched_uscc"]) == ("name_normalised", b)
    assert got[by_name]["match_confidence"] == pytest.approx(0.9)
    assert (got[exact]["match_method"], got[exact]["matched_uscc"]) == ("name_exact", a)
    assert got[ambiguous]["matched_uscc"] is None and got[ambiguous]["unmatched_reason"] == "ambiguous_name"
    assert got[ambiguous]["name_candidates"] == 2
    # a valid code of an entity outside the register is never overridden by a name that matches
    assert got[elsewhere]["matched_uscc"] is None and got[elsewhere]["unmatched_reason"] == "uscc_not_in_register"
    assert got[unknown]["unmatched_reason"] == "name_not_in_register"
    assert got[person]["source_name"] is None and got[person]["unmatched_reason"] == "no_uscc_no_name"
    shop_row = got["S5"]
    assert shop_row["source"] == "registry" and shop_row["matched_uscc"] == b and not shop_row["used_in_score"]
    used = {k for k, r in got.items() if r["used_in_score"]}
    assert used == {by_code, by_name, exact}


def test_minimum_confidence_keeps_name_matches_out_of_the_score(con):
    b = uscc(2)
    shop(con, "S2", b, name="沈阳乙商贸有限公司")
    penalty(con, None, "2026-05-01", fine_wan=1, name="沈阳乙商贸（有限责任公司）")
    overrides = {"credit.scoring": {"min_match_confidence": 0.95}}
    tiers.build_entity_matches(con, RUN, VERSIONS, overrides)
    [rec] = rows(con, "SELECT * FROM work.mart__entity_matches")
    assert rec["match_method"] == "name_normalised" and not rec["used_in_score"]
    tiers.build_merchant_credit_tiers(con, RUN, VERSIONS, overrides)
    [tier] = rows(con, "SELECT * FROM work.mart__merchant_credit_tiers")
    assert tier["penalties_3y"] == 0 and tier["tier"] == "A"


def _real_rows(real_data):
    path = real_data / "cn_enterprise_registration_uscc" / "1989_shanghai.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh)]


def test_real_usccs_validate_in_sql_and_stdnum(real_data, mem_warehouse):
    from pipelines.ingest import sqlfuncs

    codes = [r["统一社会信用代码"] for r in _real_rows(real_data)]
    assert len(codes) > 1000
    sqlfuncs.register(mem_warehouse)
    got = mem_warehouse.execute(
        "SELECT count(*), count(*) FILTER (WHERE mm_uscc_valid(mm_uscc_norm(c))) FROM unnest(?::VARCHAR[]) t(c)",
        [codes]).fetchall()[0]
    assert got[0] == len(codes) and got[1] == len(codes)
    assert all(stdnum_uscc.is_valid(c) for c in codes)
    # one changed character breaks the check (the validation can fail)
    broken = [c[:17] + ("0" if c[17] != "0" else "1") for c in codes[:200]]
    bad = mem_warehouse.execute("SELECT count(*) FILTER (WHERE mm_uscc_valid(c)) FROM unnest(?::VARCHAR[]) t(c)",
                                [broken]).fetchall()[0][0]
    assert bad == 0


def test_real_registry_names_match_back_to_their_codes(real_data, con):
    """Real names, full-width brackets and a different legal form: each unique name finds its own code."""
    real = _real_rows(real_data)[:400]
    for i, r in enumerate(real):
        shop(con, f"R{i}", r["统一社会信用代码"], name=r["企业名称"], region="310100")
    keys = {}
    for r in real:
        keys.setdefault(normalise_name(r["企业名称"]), set()).add(r["统一社会信用代码"])
    for i, r in enumerate(real):
        variant = r["企业名称"].replace("(", "（").replace(")", "）")
        if variant.endswith("有限公司") and not variant.endswith("股份有限公司"):
            variant = variant[: -len("有限公司")] + "有限责任公司"
        penalty(con, None, "2026-05-01", fine_wan=1, name=variant, decision_no=f"real-{i}")
    tiers.build_entity_matches(con, RUN, VERSIONS)
    got = {r["record_key"]: r for r in rows(con, "SELECT * FROM work.mart__entity_matches WHERE source = 'penalties'")}
    for i, r in enumerate(real):
        rec = got[f"real-{i}"]
        if len(keys[normalise_name(r["企业名称"])]) == 1:
            assert rec["matched_uscc"] == r["统一社会信用代码"], r["企业名称"]
        else:
            assert rec["matched_uscc"] is None and rec["unmatched_reason"] == "ambiguous_name"
