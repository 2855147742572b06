"""Source metadata, generated docs and DDL, masking, zip drops."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import duckdb
import pytest
from stdnum.cn import ric

from pipelines.core import privacy
from pipelines.ingest import ingest_day
from pipelines.ingest.catalogue import SOURCE_IDS, all_sources, render_sources_md
from pipelines.ingest.ddl import render_new_migration
from tests.ingest.conftest import REPO_ROOT, accounting, land


def test_every_source_has_metadata():
    assert [s.id for s in all_sources()] == list(SOURCE_IDS)
    for s in all_sources():
        assert s.licence and s.refresh and s.tables
        for t in s.tables:
            assert t.row_bounds.get("max") and any(c.required for c in t.columns)
            for c in t.columns:
                assert c.description_zh and c.description_en, (t.table, c.name)


def test_committed_docs_match_generated():
    assert (REPO_ROOT / "docs" / "SOURCES.md").read_text(encoding="utf-8") == render_sources_md()


def test_migrations_cover_every_yml_column():
    # applied migrations are never edited: a yml change needs a new numbered migration (pipelines.ingest.ddl)
    assert render_new_migration() is None


def test_staging_columns_exist(con):
    for s in all_sources():
        for t in s.tables:
            have = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = $t",
                {"t": t.table}).fetchall()}
            assert {n for n, _ in t.staging_columns()} <= have, t.table


PLANTED = [
    ("我的手机13812345678请回电", "13812345678"),
    ("手机 138 1234 5678", "138 1234 5678"),
    ("手机 138-1234-5678", "138-1234-5678"),
    ("电话+86 13812345678", "13812345678"),
    ("电话８６１３８１２３４５６７８", "13812345678"),
    ("全角１３８１２３４５６７８", "１３８１２３４５６７８"),
    ("座机010-62345678", "62345678"),
    ("座机(021)12345678", "12345678"),
    ("身份证110101199003074514", "110101199003074514"),
    ("身份证11010519491231002X", "11010519491231002X"),
    ("卡号6222021234567890123", "6222021234567890123"),
    ("卡号 6222 0212 3456 7890", "6222 0212 3456 7890"),
    ("mail zhang.san@example.com.cn ok", "zhang.san@example.com.cn"),
]


@pytest.mark.parametrize("text,secret", PLANTED)
def test_mask_text_python_and_sql_agree(text, secret):
    masked = privacy.mask_text(text)
    assert secret not in masked and "[" in masked
    digits = "".join(ch for ch in privacy.mask_text(text) if ch.isdigit())
    assert len(digits) < 6
    con = duckdb.connect()
    privacy.register(con)
    assert con.execute("SELECT mm_mask($s)", {"s": text}).fetchall()[0][0] == masked


def test_planted_ids_are_real_ids_and_cfpb_redactions_stay():
    assert ric.is_valid("110101199003074514") and ric.is_valid("11010519491231002X")
    text = "On XX/XX/XXXX I paid {$21.00} to XXXX XXXX, order 2019-05-01, 3 items"
    assert privacy.mask_text(text) == text
    assert privacy.mask_text(None) is None


def test_zip_in_landing_is_read(con, home):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("complaints.csv", "Date received,Product,Issue,Company,Complaint ID\n2020-03-01,Mortgage,X,BANK,1\n")
        zf.writestr("../evil.csv", "x")
        zf.writestr("readme.pdf", "x")
    d = dt.date(2020, 3, 31)
    land(home, "cfpb_complaints", d, "complaints.csv.zip", buf.getvalue())
    got = {e.file_name: e.outcome for e in ingest_day(con, home, d).entries}
    assert got == {"complaints.csv.zip/complaints.csv": "loaded", "complaints.csv.zip/../evil.csv": "ignored",
                   "complaints.csv.zip/readme.pdf": "ignored"}
    accounting(con)
    assert {e.outcome for e in ingest_day(con, home, d).entries} >= {"skipped_same_file"}
