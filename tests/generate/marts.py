"""A published mart partition written by hand, for the evaluate tests of this folder."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_part(home: Path, mart: str, d: str, rows: list[dict]) -> None:
    p = home / "marts" / mart / f"dt={d}"
    p.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), p / "part-0.parquet")
