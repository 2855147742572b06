"""What is in a landing date folder: which entries are data files, and the members of a zip archive.

Only files directly in landing/<source>/<D>/ are read (docs/CONTRACT.md §3): a subfolder, a hidden
file or another file ending is recorded as ignored, never opened.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DATA_ENDINGS = (".csv", ".tsv", ".txt", ".json", ".zip")
MEMBER_ENDINGS = DATA_ENDINGS[:-1]  # inside an archive: text files only (no archive in an archive)


def day_entries(folder: Path) -> list[Path]:
    """The entries of a landing date folder, by name; none when the folder does not exist."""
    if not folder.is_dir():
        return []
    return sorted(folder.iterdir(), key=lambda p: p.name)


def is_regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def not_read_because(path: Path) -> str | None:
    """Why an entry of the date folder is not read (recorded as `ignored`), or None for a data file."""
    if not is_regular_file(path):
        kind = "a subfolder" if path.is_dir() else "not a regular file"
        return f"{kind}; only files directly in the date folder are read"
    if path.name.startswith(".") or not path.name.lower().endswith(DATA_ENDINGS):
        return "file ending not read (expected .csv, .tsv, .txt, .json or .zip)"
    return None


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(".zip")


def safe_member(member: str) -> str | None:
    """The member path normalised to forward slashes, or None when it would leave the archive
    (absolute, `..`, empty) - zip-slip."""
    p = PurePosixPath(member.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts or member.endswith("/"):
        return None
    return str(p)


@dataclass(frozen=True)
class ZipMember:
    name: str  # ledger file name: <archive name>/<member path>
    size: int  # uncompressed bytes
    path: Path | None  # where it was extracted; None when refused
    refused: str | None = None  # why it is not read
    broken: str | None = None  # why its bytes cannot be extracted (the archive's fault: rejected)


def zip_members(archive: zipfile.ZipFile, archive_name: str) -> Iterator[ZipMember]:
    """The file members of an open archive, one at a time: each data member is extracted to a temp
    folder (removed when the iteration ends) before it is yielded; a refused member has no path."""
    with tempfile.TemporaryDirectory(prefix="mm_zip_") as tmp:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = safe_member(info.filename)
            if member is None:
                yield ZipMember(f"{archive_name}/{info.filename}", info.file_size, None,
                                "zip member path leaves the archive (zip-slip); refused")
                continue
            if not member.lower().endswith(MEMBER_ENDINGS):
                yield ZipMember(f"{archive_name}/{info.filename}", info.file_size, None,
                                "zip member is not a .csv/.tsv/.txt/.json file")
                continue
            target = Path(tmp) / "m" / member
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                # a bad CRC, a truncated or encrypted member, an unsupported compression: bad input
                # (an OSError such as a full disk is not caught: that is not the archive's fault)
                target.unlink(missing_ok=True)
                yield ZipMember(f"{archive_name}/{member}", info.file_size, None, None,
                                f"zip member cannot be extracted ({type(exc).__name__}: {exc})")
                continue
            yield ZipMember(f"{archive_name}/{member}", info.file_size, target)
