"""The report stage alone (bulletin and dossiers) on a home that has run the day, each build a child process.

    python -m benchmarks.report --home HOME --date D [--repeats 2] [--compare-repo DIR]

Per repeat, `market-monitor report --date D` with this checkout's code and, with --compare-repo, with another
checkout's (a clone of an older commit: the before/after of a change, measured in one session, alternating so a
noisy machine weighs on both). The day's report folder is removed before each build, so every build writes all its
pages. Prints wall and CPU seconds and max RSS (rusage of the child), the dossiers written, the bulletin's bytes and
the report folder's bytes. The home is not changed otherwise: report only reads the published marts and writes
reports/<D>/.
"""

# ruff: noqa: S603 - bench-only: the children are this interpreter with code and paths made here
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_once(repo: Path, home: Path, day: str) -> dict:
    """One `report --date day` with `repo`'s code, in a fresh child: its figures, or the child's error."""
    folder = home / "reports" / day
    shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(repo))
    t = time.perf_counter()
    # the child checks that it imported `repo`'s pipelines (an installed checkout must not stand in for it)
    code = ("import sys, pipelines; from pathlib import Path; "
            f"assert Path(pipelines.__file__).resolve().parents[1] == Path({str(repo)!r}), pipelines.__file__; "
            "from pipelines.run.cli import main; "
            f"sys.exit(main(['--home', {str(home)!r}, 'report', '--date', {day!r}]))")
    p = subprocess.Popen([sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=repo)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        return {"error": out.strip().splitlines()[-1:] or [f"exit status {status}"]}
    merchants = folder / "merchants"
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_gb": ru.ru_maxrss * 1024 / 1e9,
            "dossiers": sum(1 for _ in merchants.glob("*.html")) if merchants.exists() else 0,
            "bulletin_bytes": (folder / "bulletin.html").stat().st_size, "folder_bytes": _folder_bytes(folder)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="a home whose day D has been run and published")
    ap.add_argument("--date", required=True, help="the business date D")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--compare-repo", type=Path, help="another checkout to build the report with as well")
    a = ap.parse_args(argv)
    repos = [("this", REPO)] + ([("compared", a.compare_repo.resolve())] if a.compare_repo else [])
    for k in range(a.repeats):
        for name, repo in repos:
            r = build_once(repo, a.home, a.date)
            if "error" in r:
                print(f"RESULT {name} #{k + 1}: failed: {' '.join(r['error'])}", flush=True)
                continue
            print(f"RESULT {name} #{k + 1}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s cpu, {r['rss_gb']:.2f} GB max RSS, "
                  f"{r['dossiers']} dossiers, bulletin {r['bulletin_bytes'] / 1e6:.2f} MB, "
                  f"report folder {r['folder_bytes'] / 1e6:.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
