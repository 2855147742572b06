"""The landing file is the raw record: the original text of a data row, read back from the file itself.

Landing files are never modified (docs/CONTRACT.md §1) and the ledger keeps each one's sha256, so the
warehouse keeps no text copy of the rows (the `raw.*` tables were dropped by migration 006): a
quarantined row's `raw_text` and `market-monitor raw-line` read the row back from the file by its number.

`record_spans` finds where data rows start and end in a UTF-8 CSV file (the file DuckDB read: the landed
file, or its UTF-8 copy when it was transcoded or its line endings normalised) in one streaming pass of
vectorised byte operations per block (numpy; never a Python loop over rows): a record ends at a line feed
(or a CR, in a file with CR-only line endings) outside quotes (an even number of `"` before it: RFC 4180 doubles a quote inside a quoted field, so the
parity rule holds), a blank line is no record (DuckDB's reader skips it too), record 0 is the header and
data row N is record N, the numbering of `_row` and `meta.quarantine_rows.row_number`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

BLOCK = 8 * 1024 * 1024
LF, CR, QUOTE = 10, 13, 34
MAX_TEXT = 10000  # characters of a row kept in meta.quarantine_rows.raw_text (as for DuckDB's rejected lines)


def record_spans(path: Path, rows: Iterable[int]) -> dict[int, tuple[int, int]]:
    """{data row: (start byte, end byte)} of the wanted data rows (1-based) of the CSV file `path`; the
    end excludes the line ending. Rows past the end of the file are absent."""
    wanted = np.array(sorted({int(r) for r in rows if r is not None and int(r) > 0}), dtype=np.int64)
    out: dict[int, tuple[int, int]] = {}
    if not len(wanted):
        return out
    size = path.stat().st_size
    records = 0      # records that ended so far (the header included)
    start = 0        # absolute offset where the current record starts
    parity = 0       # quotes seen so far, mod 2
    offset = 0       # absolute offset of the block
    last_byte = -1   # the byte before the block
    sep = LF
    with open(path, "rb") as fh:
        while len(out) < len(wanted):
            block = fh.read(BLOCK)
            if not block:
                break
            if offset == 0 and b"\n" not in block and b"\r" in block:
                sep = CR  # CR-only line endings (old Mac); a mix of endings was normalised to LF before DuckDB read it
            arr = np.frombuffer(block, dtype=np.uint8)
            if parity == 0 and block.count(b'"') == 0:
                ends = np.flatnonzero(arr == sep)
            else:
                # quotes up to each byte, mod 2 (uint8 wraps at 256: the lowest bit, the parity, is kept)
                inside = (np.cumsum(arr == QUOTE, dtype=np.uint8) + parity) & 1
                ends = np.flatnonzero((arr == sep) & (inside == 0))
                parity = int(inside[-1])
            if len(ends):
                ends = ends + offset
                starts = np.concatenate(([start], ends[:-1] + 1))
                length = ends - starts
                # blank line: nothing, or a lone CR (CRLF file) before the LF
                before_end = np.where(ends - 1 >= offset, arr[np.maximum(ends - 1 - offset, 0)], last_byte)
                blank = (length == 0) | ((length == 1) & (before_end == CR) & (sep == LF))
                numbers = records + np.cumsum(~blank)  # record number + 1 of each non-blank record
                keep = ~blank
                _collect(out, wanted, numbers[keep] - 1, starts[keep], ends[keep])
                records = int(numbers[-1])
                start = int(ends[-1]) + 1
            last_byte = int(arr[-1])
            offset += len(block)
    if start < size and len(out) < len(wanted):  # the last record has no line ending
        _collect(out, wanted, np.array([records]), np.array([start]), np.array([size]))
    return out


def _collect(out, wanted, numbers, starts, ends) -> None:
    hit = np.isin(numbers, wanted)
    out.update(zip(numbers[hit].tolist(), zip(starts[hit].tolist(), ends[hit].tolist(), strict=True), strict=True))


def record_texts(path: Path, rows: Iterable[int], limit: int | None = MAX_TEXT) -> dict[int, str]:
    """{data row: its text as in the file (several physical lines for a quoted line break)}."""
    spans = record_spans(path, rows)
    out = {}
    with open(path, "rb") as fh:
        for n, (s, e) in sorted(spans.items()):  # only the wanted rows: a handful per file
            fh.seek(s)
            data = fh.read(e - s)
            text = (data[:-1] if data.endswith(b"\r") else data).decode("utf-8", errors="replace")  # CRLF: CR ends the line
            out[n] = text[:limit] if limit else text
    return out


def header_text(path: Path) -> str | None:
    """The header line of the file as written (its first non-blank line)."""
    with open(path, "rb") as fh:
        first = fh.read(BLOCK)
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line
    return None
