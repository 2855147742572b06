"""Given-rows builders for the credit tests: register, penalties, lists and flags on an in-memory warehouse."""

from __future__ import annotations

import itertools
from datetime import date

from pipelines.ingest.sqlfuncs import USCC_ALPHABET, USCC_WEIGHTS

_seq = itertools.count(1)


def uscc(n: int, region: str = "210100") -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) for test entity n."""
    body = f"91{region}{n:09d}"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def shop(con, shop_id, code, name=None, region="210100", platform="tmall", loaded="2026-01-01", valid=True):
    con.execute(
        "INSERT INTO staging.registry (platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code,"
        " established_date, _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?,"
        " 'registry.csv', 'sha', ?)",
        [platform, shop_id, f"{shop_id} 旗舰店", code, valid if code else None, name or f"企业{shop_id}有限公司",
         region, loaded, next(_seq)],
    )


def penalty(con, code, decided, fine_wan=None, category="罚款", name=None, decision_no=None, loaded=None,
            status=None, valid=True, party_type="法人及非法人组织"):
    no = decision_no or f"沈市监处罚〔2026〕{next(_seq)}号"
    con.execute(
        "INSERT INTO staging.penalties (decision_no, party_name, party_type, party_uscc, party_uscc_valid,"
        " penalty_category, fine_amount_wan, fine_amount_yuan, decision_date, status, _business_date, _file_name,"
        " _sha256, _row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'penalties.csv', 'sha', ?)",
        [no, name or "某企业", party_type, code, valid if code else None, category, fine_wan,
         None if fine_wan is None else round(fine_wan * 10000, 2), decided, status, loaded or decided, next(_seq)],
    )
    return no


def abnormal(con, code, listed, removed=None, loaded=None, name=None):
    con.execute(
        "INSERT INTO staging.abnormal_operations (uscc, uscc_valid, company_name, listed_reason, listed_date,"
        " removed_date, _business_date, _file_name, _sha256, _row) VALUES (?, true, ?, '未依照规定的期限公示年度报告',"
        " ?, ?, ?, 'abnormal.csv', 'sha', ?)",
        [code, name, listed, removed, loaded or listed, next(_seq)],
    )


def serious(con, code, listed, removed=None, loaded=None, name=None):
    con.execute(
        "INSERT INTO staging.serious_violations (uscc, uscc_valid, company_name, listed_reason, listed_date,"
        " removed_date, _business_date, _file_name, _sha256, _row) VALUES (?, true, ?, '提供虚假材料', ?, ?, ?,"
        " 'serious.csv', 'sha', ?)",
        [code, name, listed, removed, loaded or listed, next(_seq)],
    )


def flag(con, dt, indicator_id, shop_id=None, code=None, severity="medium", value=2.0, threshold=1.0,
         window_end=None, flag_id=None):
    """A lead as kept in meta.credit_flag_history (a previous run's indicator_flags row)."""
    from indicators.credit.tiers import ensure_tables

    ensure_tables(con)
    d = date.fromisoformat(dt) if isinstance(dt, str) else dt
    con.execute(
        "INSERT INTO meta.credit_flag_history VALUES (?, ?, ?, ?, ?, 'tmall', ?, ?, ?, ?, ?, ?, ?)",
        [d, flag_id or f"f{next(_seq)}", indicator_id, indicator_id.split(".")[0], shop_id or code, shop_id, code,
         window_end or d, window_end or d, value, threshold, severity],
    )
