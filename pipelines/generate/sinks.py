"""Deterministic CSV writers for the landing tree.

Every value is formatted to text by the generator (fixed decimals, fixed timestamp format), so the
bytes depend only on the seed. UTF-8 files stream through pyarrow's CSV writer batch by batch (flat
memory however many rows a day has); GBK files (small Chinese-register sources) are buffered for the
day and transcoded when closed. `.zip` output holds one CSV with a fixed timestamp.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

# values are generated without commas, quotes or line breaks, so no quoting is needed; the header
# line is written by hand so it is byte-for-byte the docs/CONTRACT.md §3 header (pyarrow would quote it).
_WRITE = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536)


class Sink:
    """One landing file, created lazily on the first non-empty write."""

    def __init__(self, path: Path, columns: list[str], encoding: str = "utf-8", bom: bool = False,
                 compress: bool = False):
        self.path = path
        self.columns = columns
        self.encoding = encoding
        self.bom = bom
        self.compress = compress
        self.rows = 0
        self._writer = None
        self._fh = None
        self._buffer: list[pa.Table] = []
        self._schema = pa.schema([(c, pa.string()) for c in columns])

    def write(self, cols: dict) -> None:
        """cols: column -> pyarrow string array / numpy array of str / None (all empty)."""
        n = None
        for v in cols.values():
            if v is not None and not isinstance(v, str):
                n = len(v)
                break
        if not n:
            return
        arrays = []
        for c in self.columns:
            v = cols.get(c)
            if v is None:
                arrays.append(pa.nulls(n, pa.string()))
            elif isinstance(v, str):
                arrays.append(pa.repeat(pa.scalar(v, pa.string()), n) if v else pa.nulls(n, pa.string()))
            elif isinstance(v, (pa.Array, pa.ChunkedArray)):
                arrays.append(v.cast(pa.string()))
            else:
                arrays.append(pa.array(v, pa.string()))
        table = pa.Table.from_arrays(arrays, schema=self._schema)
        self.rows += n
        if self.encoding == "utf-8" and not self.bom and not self.compress:
            if self._writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "wb")
                self._fh.write(self._header().encode("utf-8"))
                self._writer = pacsv.CSVWriter(self._fh, self._schema, write_options=_WRITE)
            self._writer.write_table(table)
        else:
            self._buffer.append(table)

    def _header(self) -> str:
        return ",".join(self.columns) + "\n"

    def close(self) -> int:
        if self._writer is not None:
            self._writer.close()
            self._fh.close()
        elif self._buffer:
            buf = io.BytesIO()
            pacsv.write_csv(pa.concat_tables(self._buffer), buf, write_options=_WRITE)
            data = self._header().encode("utf-8") + buf.getvalue()
            if self.encoding != "utf-8":
                data = data.decode("utf-8").encode(self.encoding)
            elif self.bom:
                data = b"\xef\xbb\xbf" + data
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.compress:
                zpath = self.path.with_suffix(".zip")
                info = zipfile.ZipInfo(self.path.name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zipfile.ZipFile(zpath, "w") as zf:
                    zf.writestr(info, data, compresslevel=9)
            else:
                self.path.write_bytes(data)
            self._buffer = []
        return self.rows
