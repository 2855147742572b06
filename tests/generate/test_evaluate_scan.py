"""The accuracy evaluation's PII scan (pipelines.generate.evaluate.scan_pii) finds a planted value however it is
written in a published file: as planted, in full-width digits, or split by spaces or hyphens; and nothing else."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.generate.evaluate import scan_pii


def test_scan_finds_planted_values_as_written_folded_or_split(tmp_path):
    home = tmp_path / "home"
    report = home / "reports" / "2026-11-11"
    report.mkdir(parents=True)
    (report / "bulletin.html").write_text("<p>回电 138 1234-5678，单号 20261111000123</p>", encoding="utf-8")
    part = home / "marts" / "complaints" / "dt=2026-11-11"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"text": ["邮箱 someone@example.cn", None], "n": [1, 2]}), part / "part-0.parquet")
    (home / "marts" / "notes.txt").write_text("身份证 ２１０１０２１９９００１０１１２３４", encoding="utf-8")  # full width
    planted = tmp_path / "planted_pii.txt"
    planted.write_text("13812345678\nsomeone@example.cn\n210102199001011234\n13998765432\n", encoding="utf-8")

    leaks = sorted(scan_pii(home, planted))

    assert leaks == [("marts/complaints/dt=2026-11-11/part-0.parquet", "someone@example.cn"),
                     ("marts/notes.txt", "210102199001011234"),
                     ("reports/2026-11-11/bulletin.html", "13812345678")]


def test_a_value_split_across_two_digit_runs_is_not_a_leak(tmp_path):
    home = tmp_path / "home"
    (home / "reports").mkdir(parents=True)
    (home / "reports" / "b.txt").write_text("1381234 / 5678000000", encoding="utf-8")  # never one run of its digits
    planted = tmp_path / "planted_pii.txt"
    planted.write_text("13812345678\n", encoding="utf-8")
    assert scan_pii(home, planted) == []
