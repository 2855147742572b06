"""A shop that is not in the merchant register, whose complaints name different respondent USCCs (a complainant's
or a hotline agent's error), gets the same USCC on every rerun: the one most of its complaints name, the smallest on
a tie (mode over the ordered codes), not whichever any_value() met first, which depends on thread timing.
Given/expect on the in-memory warehouse, for the three complaint rules that carry an entity's USCC."""

from __future__ import annotations

from datetime import date

import pytest

from tests.indicators.complaints.conftest import by_id
from tests.indicators.complaints.given import complaint

RUN = date(2026, 11, 20)
RULES = ["complaints.surge", "complaints.untimely_response", "complaints.rate_posterior"]
CODE_A = "91210100MA0000001A"  # the smaller code
CODE_B = "91210100MA0000002B"


# the same complaints loaded in two orders: whichever any_value() meets first or last, one order gives B. A is named
# twice and B once (A is the most named), or each once (a tie: A is the smaller)
ORDERS = {"most named": [(CODE_B, CODE_A, CODE_A), (CODE_A, CODE_A, CODE_B)],
          "tie": [(CODE_B, CODE_A), (CODE_A, CODE_B)]}
CASES = [(case, order) for case, orders in ORDERS.items() for order in orders]


@pytest.mark.parametrize(("case", "order"), CASES, ids=[f"{c}-{i % 2}" for i, (c, _o) in enumerate(CASES)])
@pytest.mark.parametrize("rule", RULES)
def test_the_code_most_complaints_name_is_taken(mem_warehouse, run, rule, case, order):
    con = mem_warehouse
    # S9 is not in the register: its USCC comes from its complaints
    for code in order:
        complaint(con, RUN.isoformat(), "S9", uscc=code, timely=False)
    row = by_id(run(con, rule, RUN))["S9"]
    assert row["entity_type"] == "shop"
    assert row["uscc"] == CODE_A, (rule, case)
