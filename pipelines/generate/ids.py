"""Identifier helpers for the synthetic province: USCC (GB 32100-2015), RIC (GB 11643), GTIN-13.

All vectorised over numpy arrays of random digits; the check characters are computed, never drawn.
"""

from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)


def uscc_check_char(body17: str) -> str:
    """Check character of a 17-character USCC body (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(c) * int(w) for c, w in zip(body17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(rng: np.random.Generator, region_codes: np.ndarray) -> np.ndarray:
    """Valid USCCs: '91' (SAMR, enterprise) + 6-digit region + 9-char org code + check char."""
    n = len(region_codes)
    alpha = np.array(list(USCC_ALPHABET))
    # org code: 8 characters from the alphabet (mostly digits) + a digit; keep digits-heavy like real codes
    org = rng.integers(0, 10, size=(n, 9))
    letters = rng.random((n, 9)) < 0.15
    org = np.where(letters, rng.integers(10, 31, size=(n, 9)), org)
    org[:, 8] = rng.integers(0, 10, size=n)
    head = np.array([[9, 1]] * n, dtype=np.int64).reshape(n, 2)
    reg = _digits(np.asarray(region_codes).astype("U6"), 6)
    body = np.concatenate([head, reg, org], axis=1)
    total = (body * USCC_WEIGHTS).sum(axis=1) % 31
    check = (31 - total) % 31
    full = np.concatenate([body, check[:, None]], axis=1)
    chars = np.ascontiguousarray(alpha[full].astype("U1"))
    return chars.view("U18").reshape(n)


def _digits(strings: np.ndarray, width: int) -> np.ndarray:
    """(n,) fixed-width digit strings -> (n, width) int matrix, without a Python loop per row."""
    n = len(strings)
    chars = np.ascontiguousarray(strings).view("U1").reshape(n, width)
    return chars.astype(np.int64)


RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)


def make_ric(rng: np.random.Generator, n: int, districts: list[str]) -> np.ndarray:
    """Valid 18-digit resident identity numbers (GB 11643, ISO 7064 MOD 11-2 check)."""
    dist = np.array(districts)[rng.integers(0, len(districts), n)]
    year = rng.integers(1988, 2004, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    seq = rng.integers(1, 1000, n)
    s17 = np.char.add(
        np.char.add(np.char.add(dist, year.astype(str)), np.char.zfill(month.astype(str), 2)),
        np.char.add(np.char.zfill(day.astype(str), 2), np.char.zfill(seq.astype(str), 3)),
    )
    digits = _digits(s17.astype("U17"), 17)
    total = (digits * RIC_WEIGHTS).sum(axis=1)
    check = (12 - total % 11) % 11
    cc = np.where(check == 10, "X", check.astype(str))
    return np.char.add(s17, cc)


def gtin13(prefix_body12: np.ndarray) -> np.ndarray:
    """GTIN-13 from 12-digit bodies (array of str)."""
    digits = _digits(np.asarray(prefix_body12).astype("U12"), 12)
    w = np.tile([1, 3], 6)
    check = (10 - (digits * w).sum(axis=1) % 10) % 10
    return np.char.add(prefix_body12, check.astype(str))


_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def fullwidth(s: str) -> str:
    return s.translate(_FW)
