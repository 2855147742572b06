"""Download stage: `market-monitor fetch --source ID --date D [--url URL]` (issue 3, item 5).

Streams the source's `download_url` (or `url`) to a `.part` file in a hidden staging folder inside
the landing date folder, resumes with HTTP Range after a dropped connection, retries with
exponential backoff, records ETag / Last-Modified / sha256 in a sidecar `<file>.fetch.json`, unpacks
zip archives safely (zip-slip refused), and moves files into landing/<source>/<D>/ only when complete.
Standard library only (urllib)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from pipelines.core.errors import RunError, UserError
from pipelines.core.sql import sha256_file
from pipelines.ingest.catalogue import SOURCE_IDS, load_source

CHUNK = 1024 * 1024
USER_AGENT = "market-monitor-fetch/1"


def _file_name(url: str) -> str:
    name = unquote(PurePosixPath(urlparse(url).path).name)
    if not name or name in (".", ".."):
        name = "download.csv"
    return name.replace("/", "_").replace("\\", "_")


def _download(url: str, part: Path, retries: int, backoff: float, timeout: float, known: dict | None = None) -> dict:
    """Stream `url` into `part`, resuming with Range; return the response headers we record.
    `known` (a previous sidecar) makes the request conditional; a 304 returns {"not_modified": True}."""
    attempt = 0
    meta: dict = {}
    while True:
        have = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        if have:
            req.add_header("Range", f"bytes={have}-")
            if meta.get("etag"):
                req.add_header("If-Range", meta["etag"])
        elif known:
            if known.get("etag"):
                req.add_header("If-None-Match", known["etag"])
            if known.get("last_modified"):
                req.add_header("If-Modified-Since", known["last_modified"])
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status = resp.status
                meta = {"etag": resp.headers.get("ETag") or meta.get("etag"),
                        "last_modified": resp.headers.get("Last-Modified") or meta.get("last_modified"),
                        "content_type": resp.headers.get("Content-Type")}
                if status == 206:
                    mode = "ab"
                else:
                    mode, have = "wb", 0
                length = resp.headers.get("Content-Length")
                expected = have + int(length) if length is not None else None
                with open(part, mode) as out:
                    while True:
                        block = resp.read(CHUNK)
                        if not block:
                            break
                        out.write(block)
                got = part.stat().st_size
                if expected is not None and got < expected:
                    raise ConnectionError(f"connection dropped after {got} of {expected} bytes")
                return meta
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return {"not_modified": True}
            if exc.code == 416 and have:  # range not satisfiable: we already have it all
                return meta
            if exc.code in (408, 429) or exc.code >= 500:
                err = RunError(f"fetch {url}: HTTP {exc.code} {exc.reason}")
            else:
                raise UserError(
                    f"fetch {url}: the server answered HTTP {exc.code} {exc.reason}; check the URL "
                    "(download_url in pipelines/ingest/sources/<source>.yml, or --url)"
                ) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            err = RunError(f"fetch {url}: {reason}")
        attempt += 1
        if attempt > retries:
            raise RunError(f"{err} (gave up after {retries} retries)") from None
        time.sleep(backoff * (2 ** (attempt - 1)))


def _unzip(archive: Path, dest: Path) -> list[Path]:
    out = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            p = PurePosixPath(info.filename.replace("\\", "/"))
            if p.is_absolute() or ".." in p.parts:
                raise UserError(f"zip archive {archive.name}: member {info.filename!r} leaves the folder (zip-slip); refused")
            target = dest / p.name
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            out.append(target)
    return out


def fetch(home, source_id: str, business_date, url: str | None = None, *, retries: int = 4,
          backoff: float = 0.5, timeout: float = 60.0) -> list[Path]:
    """Download the source's file(s) for D into landing/<source>/<D>/; return the landed paths."""
    if source_id not in SOURCE_IDS:
        raise UserError(f"unknown source {source_id!r}; known sources: {', '.join(SOURCE_IDS)}")
    if isinstance(business_date, str):
        business_date = dt.date.fromisoformat(business_date)
    url = url or load_source(source_id).download_url
    if not url:
        raise UserError(f"source {source_id} has no download_url in pipelines/ingest/sources/{source_id}.yml; pass --url")
    if urlparse(url).scheme not in ("http", "https"):
        raise UserError(f"fetch {url}: only http and https URLs are fetched")
    landing = home.landing_dir(source_id, business_date)
    staging = landing / ".fetch"  # hidden: ingestion ignores it
    staging.mkdir(parents=True, exist_ok=True)
    name = _file_name(url)
    part = staging / (name + ".part")
    known = None
    if (landing / name).exists() and (staging / (name + ".fetch.json")).exists():
        known = json.loads((staging / (name + ".fetch.json")).read_text(encoding="utf-8"))
    meta = _download(url, part, retries, backoff, timeout, known)
    if meta.get("not_modified"):
        return [landing / name]
    done = staging / name
    os.replace(part, done)
    files = [done]
    unpacked = None
    if zipfile.is_zipfile(done):
        unpacked = staging / (name + ".d")
        unpacked.mkdir(exist_ok=True)
        files = _unzip(done, unpacked)
    landed = []
    fetched_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for f in files:
        sidecar = {"url": url, "etag": meta.get("etag"), "last_modified": meta.get("last_modified"),
                   "sha256": sha256_file(f), "size_bytes": f.stat().st_size, "fetched_at": fetched_at,
                   "archive": name if unpacked else None, "archive_sha256": sha256_file(done) if unpacked else None}
        target = landing / f.name
        # the sidecar sits beside the file; its .json ending is read by ingestion only for JSON sources,
        # so it lives in the hidden .fetch folder and is mirrored as <file>.fetch.json there
        (staging / (f.name + ".fetch.json")).write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
        os.replace(f, target)
        landed.append(target)
    if unpacked:
        shutil.rmtree(unpacked, ignore_errors=True)
        done.unlink()
    return landed


def last_fetch(home, source_id: str, business_date, file_name: str) -> dict | None:
    """The sidecar recorded for a landed file (ETag, Last-Modified, sha256, URL), if any."""
    p = home.landing_dir(source_id, business_date) / ".fetch" / (file_name + ".fetch.json")
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
