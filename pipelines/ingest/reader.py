"""Looking at a landed file before DuckDB reads it: binary or text, encoding, CSV or JSON,
delimiter, header. Non-UTF-8 text (GBK/GB18030, other single-byte encodings) and UTF-8 with a
BOM are transcoded to a UTF-8 temp file in streaming chunks (DuckDB cannot decode GBK offline).
A CSV file DuckDB's strict parser cannot read because its line endings are mixed (CRLF and LF, as a
file edited in two programs has) is read again from a copy with LF line endings
(`normalise_line_endings`, called by pipelines.ingest.load)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

SAMPLE_BYTES = 256 * 1024
CHUNK = 4 * 1024 * 1024
CHINESE = {"gbk", "gb2312", "gb18030", "hz", "hz_gb_2312", "cp936", "euc_cn", "big5", "big5hkscs", "cp950"}


class FileRejected(Exception):
    """A file-level failure: the whole file is rejected with a message for a person."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


@dataclass
class Prepared:
    path: Path          # UTF-8 file DuckDB reads (the original or a transcoded temp copy)
    encoding: str       # as detected: utf-8, utf-8-sig, gb18030, ...
    fmt: str            # csv | json
    delimiter: str = ","
    header: list[str] | None = None
    tmp_dir: Path | None = None  # where a normalised copy may be written (never beside the landed file)
    line_endings_normalised: bool = False  # read from a copy with LF line endings (load.read_input)


def _is_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    if not sample:
        return False
    control = sum(1 for b in sample if b < 0x20 and b not in (9, 10, 13, 12))
    return control / len(sample) > 0.01


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Chinese sources: GBK/GB18030 when the bytes decode strictly and read as Chinese (charset-normalizer
    # alone takes short GBK samples for cp949 or big5)
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        non_ascii = [c for c in text if ord(c) > 127]
        han = sum(1 for c in non_ascii if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
        if non_ascii and han / len(non_ascii) > 0.8:
            return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    if best is None:
        raise FileRejected("the file is not readable text (no encoding fits; binary content?)")
    enc = best.encoding.lower().replace("-", "_")
    if enc in CHINESE or enc.startswith("gb"):
        return "gb18030"
    return codecs.lookup(best.encoding).name


def transcode(src: Path, dst: Path, encoding: str) -> None:
    """Stream `src` (in `encoding`) to UTF-8 `dst`; a bad byte rejects the file with its line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    lines = 1
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while True:
            block = fin.read(CHUNK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                good = block[: exc.start]
                line = lines + good.count(b"\n")
                raise FileRejected(
                    f"bytes at offset {offset + exc.start} (line {line}) are not valid {encoding}; "
                    "save the file as UTF-8 or GBK"
                ) from None
            fout.write(text)
            lines += block.count(b"\n")
            offset += len(block)
            if not block:
                break


def normalise_line_endings(src: Path, dst: Path) -> None:
    """Copy the UTF-8 text `src` to `dst` with every CRLF and every lone CR turned into LF, in streaming
    blocks (bytes.replace per block, never a loop over lines). In UTF-8 the bytes CR and LF never occur
    inside a multi-byte character, so the text is otherwise unchanged; a CR at the end of a block is
    held back so a CRLF split between two blocks still becomes one LF. Line endings inside quoted fields
    are normalised too (a spreadsheet shows them the same way)."""
    carry = b""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while True:
            block = fin.read(CHUNK)
            data = carry + block
            if block and data.endswith(b"\r"):
                data, carry = data[:-1], b"\r"
            else:
                carry = b""
            fout.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
            if not block:
                break


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def prepare(path: Path, formats: tuple[str, ...], tmp_dir: Path) -> Prepared:
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if _is_binary(sample):
        raise FileRejected("the file holds binary content (not CSV or JSON text)")
    encoding = detect_encoding(sample)
    text_path = path
    if encoding != "utf-8":
        tmp_dir.mkdir(parents=True, exist_ok=True)
        text_path = tmp_dir / (hashlib.sha1(str(path).encode()).hexdigest() + ".utf8")
        transcode(path, text_path, encoding)
        with open(text_path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    text = sample.decode("utf-8", errors="ignore")
    stripped = text.lstrip("\ufeff \t\r\n")
    looks_json = stripped[:1] in ("[", "{")
    if path.suffix.lower() == ".json" or looks_json:
        if "json" not in formats:
            raise FileRejected(
                "the file holds JSON but this source takes CSV (comma or tab separated, with a header row)"
            )
        if not stripped.startswith("["):
            raise FileRejected("JSON files must hold one list of objects ([{...}, ...])")
        return Prepared(text_path, encoding, "json", tmp_dir=tmp_dir)
    line = _first_line(text)
    if not line:
        raise FileRejected("the file has no header row")
    counts = {d: line.count(d) for d in (",", "\t")}
    if counts[","] == 0 and counts["\t"] == 0:
        other = [d for d in (";", "|") if line.count(d) > 0]
        if other:
            raise FileRejected(
                f"the header row is separated by {other[0]!r}; use comma or tab as the delimiter"
            )
    delim = "\t" if counts["\t"] > counts[","] else ","
    header = next(csv.reader(io.StringIO(line), delimiter=delim))
    header = [h.replace("\ufeff", "") for h in header]
    return Prepared(text_path, encoding, "csv", delim, header, tmp_dir)
