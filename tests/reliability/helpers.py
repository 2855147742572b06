"""Running the real CLI in subprocesses against a small home: the first two days of the bundled sample."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
D1, D2 = date(2026, 10, 29), date(2026, 10, 30)


def lay_days(home: Path, days=(D1, D2)) -> None:
    from pipelines.generate.sample import sample_landing

    src = sample_landing()
    for source in sorted(p for p in src.iterdir() if p.is_dir()):
        for d in days:
            folder = source / d.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, home / "landing" / source.name / d.isoformat(), dirs_exist_ok=True)


def cli(home: Path, *args: str, fault: str | None = None, timeout: float = 600, wait: bool = True,
        pause: str | None = None):
    """`python -m pipelines.run.cli <args> --home HOME` with this checkout on the path."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MARKET_MONITOR_THREADS="2")
    env.pop("MARKET_MONITOR_FAULT", None)
    env.pop("MARKET_MONITOR_DEBUG", None)
    env.pop("MARKET_MONITOR_PAUSE", None)
    if pause:  # "<point>=<seconds>": hold the process there (pipelines/core/faults.py)
        env["MARKET_MONITOR_PAUSE"] = pause
    if fault:
        env["MARKET_MONITOR_FAULT"] = fault
    cmd = [sys.executable, "-m", "pipelines.run.cli", *args, "--home", str(home), "--quiet"]
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def partitions(home: Path) -> dict[str, str]:
    """{'<mart>/dt=<D>/<file>': sha256} of every visible parquet file under marts/ (hidden files excluded)."""
    out = {}
    for f in sorted((home / "marts").rglob("*.parquet")):
        rel = f.relative_to(home / "marts")
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        out[str(rel)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def hidden_leftovers(home: Path) -> list[str]:
    """Files a publish left behind: anything in marts/.staging/ and any hidden file elsewhere under marts/."""
    from pipelines.core.home import Home

    staging = Home(home).staging_dir
    staged = [f for f in staging.rglob("*") if f.is_file()] if staging.exists() else []
    hidden = [f for f in (home / "marts").rglob(".*") if f.is_file() and staging not in f.parents]
    return sorted(str(f) for f in staged + hidden)


def manifests_agree(home: Path) -> list[str]:
    """Partitions whose file differs from what marts/_manifests/<mart>.json records (empty when consistent)."""
    import json

    from pipelines.core.home import Home

    bad = []
    for man in sorted(Home(home).manifests_dir.glob("*.json")):
        m = json.loads(man.read_text(encoding="utf-8"))
        for dt, p in m.get("partitions", {}).items():
            f = Home(home).partition_dir(m["mart"], dt) / p["file"]
            if not f.exists() or hashlib.sha256(f.read_bytes()).hexdigest() != p["sha256"]:
                bad.append(f"{m['mart']}/dt={dt}")
    return bad


def copy_home(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def extra_prices(home: Path, name: str = "price_observations_extra.csv", n: int = 40, factor: float = 3.0) -> Path:
    """A second drop for D1 that changes the marts: copies of n observations of D1 with new ids and
    prices raised by `factor` (read from the home's warehouse, which no process may hold)."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        df = con.execute(
            "SELECT * EXCLUDE (_business_date, _file_name, _sha256, _row) FROM staging.price_observations "
            "WHERE observed_date = $d ORDER BY observation_id LIMIT $n", {"d": D1, "n": n}).df()
    finally:
        con.close()
    keep = [c for c in df.columns if c not in ("observed_date",) and not c.endswith("_valid")]
    df = df[keep]
    df["observation_id"] = "EXTRA-" + df["observation_id"].astype(str)
    df["price"] = (df["price"].astype(float) * factor).round(2)
    df["observed_at"] = df["observed_at"].astype(str).str.slice(0, 19)
    target = home / "landing" / "price_observations" / D1.isoformat() / name
    df.to_csv(target, index=False)
    return target
