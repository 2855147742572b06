"""Checks for the distributed run (.ci/distributed.sh), importable by unit tests.

    python tests/distributed/verify.py compare HOME_A HOME_B        marts equal, partition by partition
    python tests/distributed/verify.py tasks DSN DAG_ID RUN_ID...   success, both workers, overlap, one writer
    python tests/distributed/verify.py timing DSN DAG_ID RUN_ID     the run's ingest wall time (JSON)

Exit 0 when the check holds, 1 with a message naming what differs otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path

WRITER_POOL = "duckdb_writer"


def parquet_content_digest(path: Path) -> str:
    """sha256 of a parquet file's content (schema + rows), independent of writer metadata."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    h = hashlib.sha256(str(table.schema.remove_metadata()).encode())
    for batch in table.to_batches(max_chunksize=65536):
        for col in batch.columns:
            h.update(json.dumps(col.to_pylist(), default=str, ensure_ascii=False).encode())
    return h.hexdigest()


def marts_digest(home: Path) -> dict[str, str]:
    """{'<mart>/dt=<D>': content sha256} for every published partition of the home."""
    out = {}
    marts = Path(home) / "marts"
    for part in sorted(marts.glob("*/dt=*/*.parquet")):
        if part.name.startswith((".", "_")):
            continue
        out[f"{part.parent.parent.name}/{part.parent.name}"] = parquet_content_digest(part)
    return out


def compare_marts(a: Path, b: Path) -> list[str]:
    da, db = marts_digest(a), marts_digest(b)
    problems = []
    if not da:
        problems.append(f"no published partitions under {a}/marts")
    for key in sorted(set(da) | set(db)):
        if key not in da:
            problems.append(f"{key}: only in {b}")
        elif key not in db:
            problems.append(f"{key}: only in {a}")
        elif da[key] != db[key]:
            problems.append(f"{key}: content differs ({da[key][:12]} vs {db[key][:12]})")
    return problems


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


PREPARE = "prepare"


def check_tasks(tis: list[dict], xcoms: dict[tuple, dict]) -> tuple[list[str], dict]:
    """tis: task instances (run_id, task_id, map_index, state, pool, start_date, end_date); xcoms: the
    return values of the prepare tasks keyed by (run_id, task_id, map_index), carrying the worker that
    ran them. Checks: every task succeeded; the mapped prepare tasks ran on at least two workers, and
    two prepare tasks of the same run (one day's files) on different workers overlapped in time (the
    task instances' start and end); no two writer-pool tasks ever overlapped."""
    problems, facts = [], {}
    if not tis:
        return ["no task instances found"], facts
    for ti in tis:
        if ti["state"] != "success":
            problems.append(f"{ti['run_id']} {_label(ti)}: state {ti['state']}")
    checks = []
    for ti in tis:
        summary = xcoms.get((ti["run_id"], ti["task_id"], ti.get("map_index", -1)))
        if ti["task_id"] == PREPARE and summary and ti["start_date"] and ti["end_date"]:
            checks.append((summary.get("worker"), (ti["start_date"], ti["end_date"]), _label(ti), ti["run_id"]))
    workers = sorted({w for w, _, _, _ in checks if w})
    facts["workers"] = workers
    facts["prepare_tasks"] = len(checks)
    if len(workers) < 2:
        problems.append(f"prepare tasks ran on {workers or 'no known worker'}; expected two Celery workers")
    cross = [(x[2], y[2]) for i, x in enumerate(checks) for y in checks[i + 1:]
             if x[3] == y[3] and x[0] != y[0] and _overlaps(x[1], y[1])]
    facts["overlapping_cross_worker_pairs"] = len(cross)
    if not cross:
        problems.append("no two prepare tasks of one day on different workers overlapped in time")
    writers = sorted(((ti["start_date"], ti["end_date"]), f"{ti['run_id']}:{_label(ti)}")
                     for ti in tis if ti["pool"] == WRITER_POOL and ti["start_date"] and ti["end_date"])
    facts["writer_tasks"] = len(writers)
    for (span_a, name_a), (span_b, name_b) in zip(writers, writers[1:], strict=False):
        if _overlaps(span_a, span_b):
            problems.append(f"writer tasks overlapped: {name_a} and {name_b}")
    return problems, facts


def _label(ti: dict) -> str:
    m = ti.get("map_index", -1)
    return ti["task_id"] if m is None or m < 0 else f"{ti['task_id']}[{m}]"


def ingest_timing(tis: list[dict], xcoms: dict[tuple, dict]) -> dict:
    """The day's ingest of one run, from its task instances: wall time from the start of `landed_files` to
    the end of `register`, the span of the prepare tasks, the seconds of register, the prepare tasks'
    summed seconds, and on which workers they ran."""
    by = {}
    for ti in tis:
        by.setdefault(ti["task_id"], []).append(ti)
    need = ("landed_files", PREPARE, "register")
    if any(not by.get(t) or any(x["start_date"] is None or x["end_date"] is None for x in by[t]) for t in need):
        raise ValueError(f"the run lacks finished {', '.join(need)} tasks")
    prep = by[PREPARE]
    start = min(x["start_date"] for x in by["landed_files"])
    end = max(x["end_date"] for x in by["register"])
    workers = sorted({(xcoms.get((x["run_id"], PREPARE, x.get("map_index", -1))) or {}).get("worker") or "?"
                      for x in prep})
    return {
        "ingest_wall_s": round((end - start).total_seconds(), 1),
        "prepare_span_s": round((max(x["end_date"] for x in prep) - min(x["start_date"] for x in prep)).total_seconds(), 1),
        "prepare_task_s_sum": round(sum((x["end_date"] - x["start_date"]).total_seconds() for x in prep), 1),
        "register_s": round(sum((x["end_date"] - x["start_date"]).total_seconds() for x in by["register"]), 1),
        "prepare_tasks": len(prep),
        "workers": workers,
    }


def decode_xcom(value):
    """XCom values are JSON; a returned dict may arrive decoded, as JSON text, or as JSON text of JSON
    text; a returned plain string (e.g. a date) is not JSON text at all."""
    for _ in range(3):
        if not isinstance(value, str | bytes):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value


def fetch_tasks(dsn: str, dag_id: str, run_ids: list[str]) -> tuple[list[dict], dict]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        cur = con.cursor()
        cur.execute("SELECT run_id, task_id, map_index, state, pool, start_date, end_date FROM task_instance "
                    "WHERE dag_id = %s AND run_id = ANY(%s) ORDER BY start_date", (dag_id, run_ids))
        cols = [d[0] for d in cur.description]
        tis = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        cur.execute("SELECT run_id, task_id, map_index, value FROM xcom WHERE dag_id = %s AND run_id = ANY(%s) "
                    "AND key = 'return_value'", (dag_id, run_ids))
        xcoms = {}
        for run_id, task_id, map_index, value in cur.fetchall():
            value = decode_xcom(value)
            if isinstance(value, dict):
                xcoms[(run_id, task_id, map_index)] = value
        return tis, xcoms
    finally:
        con.close()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "compare":
        problems = compare_marts(Path(argv[1]), Path(argv[2]))
        n = len(marts_digest(Path(argv[1])))
        if problems:
            print("marts differ:\n  " + "\n  ".join(problems[:50]))
            return 1
        print(f"marts identical: {n} partitions")
        return 0
    if len(argv) >= 4 and argv[0] == "tasks":
        tis, xcoms = fetch_tasks(argv[1], argv[2], argv[3:])
        problems, facts = check_tasks(tis, xcoms)
        print(json.dumps(facts))
        if problems:
            print("task checks failed:\n  " + "\n  ".join(problems))
            return 1
        return 0
    if len(argv) == 4 and argv[0] == "timing":
        tis, xcoms = fetch_tasks(argv[1], argv[2], [argv[3]])
        print(json.dumps(ingest_timing(tis, xcoms)))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
