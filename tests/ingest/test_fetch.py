"""fetch against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.core.errors import RunError, UserError
from pipelines.ingest import ingest_day
from pipelines.ingest.fetch import fetch, last_fetch

D = dt.date(2020, 3, 31)
CSV = ("Date received,Product,Issue,Company,Complaint ID\n" + "".join(
    f"2020-03-3{i % 2},Mortgage,Trouble,BANK {i},{1000 + i}\n" for i in range(2000))).encode()


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


FILES = {
    "/complaints.csv": CSV,
    "/complaints.csv.zip": make_zip({"complaints.csv": CSV}),
    "/evil.zip": make_zip({"../../escape.csv": b"x"}),
}


class Handler(BaseHTTPRequestHandler):
    drops = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        base = path.replace("/drop", "")
        if base not in FILES:
            self.send_error(404, "Not Found")
            return
        data = FILES[base]
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Tue, 31 Mar 2020 00:00:00 GMT")
        self.end_headers()
        body = data[start:]
        if path.startswith("/drop") and not Handler.drops.get(path):
            Handler.drops[path] = True
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_fetch_resumes_after_dropped_connection(home, con, server):
    Handler.drops.clear()
    (path,) = fetch(home, "cfpb_complaints", D, url=server + "/drop/complaints.csv", backoff=0.01)
    assert path == home.landing_dir("cfpb_complaints", D) / "complaints.csv"
    assert path.read_bytes() == CSV
    meta = last_fetch(home, "cfpb_complaints", D, "complaints.csv")
    assert meta["sha256"] == hashlib.sha256(CSV).hexdigest() and meta["etag"] and meta["last_modified"]
    assert not list(home.landing_dir("cfpb_complaints", D).glob("*.part"))
    # ETag aware: not modified -> same file, nothing re-downloaded
    assert fetch(home, "cfpb_complaints", D, url=server + "/drop/complaints.csv") == [path]
    report = ingest_day(con, home, D)
    loaded = {e.file_name: e for e in report.entries}
    assert loaded["complaints.csv"].rows_loaded == 2000
    assert loaded[".fetch"].outcome == "ignored"


def test_fetch_unpacks_zip(home, server):
    (path,) = fetch(home, "cfpb_complaints", D, url=server + "/complaints.csv.zip")
    assert path.name == "complaints.csv" and path.read_bytes() == CSV
    assert last_fetch(home, "cfpb_complaints", D, "complaints.csv")["archive"] == "complaints.csv.zip"


def test_fetch_refuses_zip_slip(home, server):
    with pytest.raises(UserError, match="zip-slip"):
        fetch(home, "cfpb_complaints", D, url=server + "/evil.zip")
    assert not (home.root / "escape.csv").exists()


def test_fetch_404_is_a_clean_user_error(home, server):
    with pytest.raises(UserError) as exc:
        fetch(home, "cfpb_complaints", D, url=server + "/missing.csv", backoff=0.01)
    assert "/missing.csv" in str(exc.value) and "404" in str(exc.value)
    assert exc.value.exit_code == 2
    assert not (home.landing_dir("cfpb_complaints", D) / "missing.csv").exists()


def test_fetch_unreachable_is_run_error(home):
    with pytest.raises(RunError, match="gave up"):
        fetch(home, "cfpb_complaints", D, url="http://127.0.0.1:9/x.csv", retries=1, backoff=0.01, timeout=2)


def test_fetch_without_url_configured(home):
    with pytest.raises(UserError, match="download_url"):
        fetch(home, "registry", D)
