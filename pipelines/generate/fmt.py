"""Vectorised text formatting (pyarrow compute), so that every value has one fixed spelling."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HMS = None
_EPOCH = dt.date(1970, 1, 1)


def hms_table() -> pa.Array:
    global _HMS
    if _HMS is None:
        s = np.arange(86400)
        h, m, sec = s // 3600, (s // 60) % 60, s % 60
        _HMS = pa.array(np.char.add(np.char.add(np.char.add(np.char.zfill(h.astype(str), 2), ":"),
                                                np.char.add(np.char.zfill(m.astype(str), 2), ":")),
                                    np.char.zfill(sec.astype(str), 2)))
    return _HMS


def join(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and scalars (str)."""
    arrs = [p if not isinstance(p, str) else pa.scalar(p, pa.string()) for p in parts]
    arrs = [a if isinstance(a, (pa.Array, pa.ChunkedArray, pa.Scalar)) else pa.array(a, pa.string())
            for a in arrs]
    return pc.binary_join_element_wise(*arrs, "")


def ints(a) -> pa.Array:
    return pc.cast(pa.array(np.asarray(a, dtype=np.int64)), pa.string())


def zint(a, width: int) -> pa.Array:
    return pc.utf8_lpad(ints(a), width, "0")


def money(x) -> pa.Array:
    """Amounts with exactly two decimals (null where x is nan)."""
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(x)
    cents = np.round(np.where(nan, 0, x) * 100).astype(np.int64)
    s = join(ints(cents // 100), ".", zint(cents % 100, 2))
    if nan.any():
        s = pc.if_else(pa.array(nan), pa.nulls(len(x), pa.string()), s)
    return s


def dec(x, places: int) -> pa.Array:
    x = np.asarray(x, dtype=np.float64)
    scale = 10 ** places
    v = np.round(x * scale).astype(np.int64)
    return join(ints(v // scale), ".", zint(v % scale, places))


def timestamps(days_since_epoch: np.ndarray, secs: np.ndarray, valid=None) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' from integer day numbers (since 1970-01-01) and seconds of day."""
    d = np.asarray(days_since_epoch, dtype=np.int64) + np.asarray(secs, dtype=np.int64) // 86400
    s = np.asarray(secs, dtype=np.int64) % 86400
    dates = pa.array(d.astype("datetime64[D]")).cast(pa.string())
    out = join(dates, " ", hms_table().take(pa.array(s)))
    if valid is not None and not np.all(valid):
        out = pc.if_else(pa.array(np.asarray(valid)), out, pa.nulls(len(d), pa.string()))
    return out


def dates(days_since_epoch: np.ndarray, valid=None) -> pa.Array:
    out = pa.array(np.asarray(days_since_epoch, dtype=np.int64).astype("datetime64[D]")).cast(pa.string())
    if valid is not None and not np.all(valid):
        out = pc.if_else(pa.array(np.asarray(valid)), out, pa.nulls(len(out), pa.string()))
    return out


def take(values, idx) -> pa.Array:
    if not isinstance(values, pa.Array):
        values = pa.array(values)
    return values.take(pa.array(np.asarray(idx, dtype=np.int64)))


def epoch_day(d: dt.date) -> int:
    """Day number since 1970-01-01 (the integer dates every formatter here takes)."""
    return (d - _EPOCH).days
