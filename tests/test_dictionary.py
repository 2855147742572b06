"""The data dictionary covers every published column (generic over the mart catalogue)."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indicators.compute import compute_day, mart_catalogue
from pipelines.core.home import Home
from pipelines.core.sql import quote_ident
from pipelines.publish.dictionary import (
    DICTIONARY_MD,
    Column,
    computed_schemas,
    published_schemas,
    render_markdown,
    stray_value_labels,
    undocumented,
    value_label_rows,
    write_dictionary_parquet,
)
from pipelines.publish.parquet import publish_partition
from pipelines.publish.views import value_labels_file
from warehouse.migrate import apply_migrations

DAY = date(2026, 3, 31)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Every mart's candidate partition, built by the pipeline and published by the real publish code."""
    home = Home(tmp_path_factory.mktemp("dict-home")).ensure()
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    compute_day(con, DAY, {})
    for mart in mart_catalogue()["marts"]:
        table = con.sql(f"SELECT * FROM work.{quote_ident('mart__' + mart)}").to_arrow_table()
        publish_partition(home.mart_dir(mart), DAY, table)
    con.close()
    return home


def test_every_column_the_pipeline_builds_is_documented():
    assert undocumented(computed_schemas()) == {}, ("document these columns in indicators/marts/<mart>.yml "
                                                   "(an unquoted comma in a {zh: …, en: …} entry cuts it short)")


def test_every_published_column_is_documented_and_typed_as_computed(published):
    schemas = published_schemas(published)
    assert set(schemas) == set(mart_catalogue()["marts"])
    assert undocumented(schemas) == {}
    assert schemas == computed_schemas()  # the snapshot and dictionary describe what is really published


def test_an_undocumented_published_column_is_caught(published, tmp_path):
    home = Home(tmp_path / "h").ensure()
    source = published.mart_dir("indicator_flags") / f"dt={DAY}" / "part-0.parquet"
    table = pq.read_table(source)
    table = table.append_column("secret_score", pa.array([1.0] * table.num_rows, pa.float64()))
    publish_partition(home.mart_dir("indicator_flags"), DAY, table)
    assert undocumented(published_schemas(home)) == {"indicator_flags": ["secret_score"]}


def test_dictionary_parquet_has_one_documented_row_per_published_column(published):
    path = write_dictionary_parquet(published)
    rows = pq.read_table(path).to_pylist()
    schemas = published_schemas(published)
    assert [(r["mart"], r["column_name"]) for r in rows] == [(m, c.name) for m, cols in schemas.items() for c in cols]
    for r in rows:
        assert r["documented"] and r["label_zh"] and r["meaning_en"] and r["data_type"], r
    price = {r["column_name"]: r for r in rows if r["mart"] == "price_reference_checks"}
    assert price["promo_price"]["unit"].startswith("元")
    assert "price.cn_reference_7d" in price["promo_price"]["derived_from"]


def test_data_dictionary_md_is_up_to_date():
    assert DICTIONARY_MD.read_text(encoding="utf-8") == render_markdown(), \
        "docs/DATA_DICTIONARY.md is stale: run `python -m pipelines.publish.dictionary --write`"


def test_value_labels_parquet_labels_the_coded_columns(published):
    write_dictionary_parquet(published)
    rows = pq.read_table(value_labels_file(published)).to_pylist()
    assert rows and all(r["label_zh"] and r["label_en"] and r["value"] for r in rows)
    labelled = {(r["mart"], r["column_name"]) for r in rows}
    for mart, column in [("indicator_flags", "severity"), ("indicator_flags", "family"),
                         ("indicator_flags", "entity_type"), ("indicator_flags", "indicator_id"),
                         ("merchant_credit_tiers", "tier"), ("inspection_sample", "tier"),
                         ("price_reference_checks", "check_status"), ("price_reference_checks", "flag_cn_reference_7d"),
                         ("complaint_rates", "source"), ("entity_matches", "match_method")]:
        assert (mart, column) in labelled, (mart, column)
    severity = {r["value"]: r["label_zh"] for r in rows if r["column_name"] == "severity"}
    assert severity == {"low": "低", "medium": "中", "high": "高"}
    flags = {r["value"]: r["label_en"] for r in rows if r["column_name"] == "flag_surge"}
    assert flags == {"true": "yes", "false": "no"}


def test_every_boolean_column_is_labelled_and_no_label_names_a_missing_column():
    schemas = computed_schemas()
    labelled = {(r["mart"], r["column_name"]) for r in value_label_rows(schemas)}
    booleans = {(m, c.name) for m, cols in schemas.items() for c in cols if c.type == "BOOLEAN"}
    assert booleans and booleans <= labelled
    assert stray_value_labels() == []
    assert value_label_rows({"indicator_flags": [Column("not_coded", "VARCHAR")]}) == []
