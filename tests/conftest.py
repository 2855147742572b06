from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real public datasets not found at {REAL_DATA} (they live in ../shared/data/real)")
    return REAL_DATA


@pytest.fixture
def mem_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with every migration applied (for SQL unit tests)."""
    from warehouse.migrate import apply_migrations

    con = duckdb.connect(":memory:")
    apply_migrations(con)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory):
    """The bundled sample province run through the CLI exactly as `market-monitor demo` does, once per
    session: the end-to-end tests and the accuracy tests share it (it takes about two minutes)."""
    from pipelines.generate.sample import sample_days
    from pipelines.run.cli import main

    home = tmp_path_factory.mktemp("demo-home")
    assert main(["demo", "--home", str(home), "--quiet"]) == 0
    return home, sample_days()


@pytest.fixture(scope="session")
def template_d1(tmp_path_factory):
    """A home holding the first two sample days' drops, with D1 run once through the CLI (the 'old'
    published state the reliability fault, disk, concurrency and idempotency tests and the security PII
    scan start from; copy it, never change it). Built once per session."""
    from tests.reliability.helpers import D1, cli, lay_days

    home = tmp_path_factory.mktemp("template") / "home"
    lay_days(home)
    done = cli(home, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    return home


# --------------------------------------------------------------------------- running on several workers
#
# `make test` runs the suite on two pytest-xdist workers with `--dist loadgroup`. A session fixture is built
# once per worker, so the tests that share one (the demo home, the D1 template, the fake published home,
# ...) are kept on one worker; every other test is grouped with its module, so a module-scoped fixture is
# built once too (what `--dist loadfile` would do). Groups are handed out in collection order to whichever
# worker is free, and each group runs in order on its worker. A test run without xdist ignores the marks.

# template_d1 is left out on purpose: one CLI run builds it, while the tests copying it (republish, faults,
# concurrency, freshness) take about half the suite; built once per worker, they spread over both.
SHARED_SESSION_FIXTURES = ("demo_home", "fake_home", "_good_warehouse")


def xdist_group_of(item) -> str:
    """The worker group of a test: the first shared session fixture it uses, else its module."""
    names = set(getattr(item, "fixturenames", ()))
    for fixture in SHARED_SESSION_FIXTURES:
        if fixture in names:
            return fixture
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    loadgroup = getattr(config.option, "loadgroup", False)  # an xdist worker of `--dist loadgroup`
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))
        if loadgroup and hasattr(item, "_id") and "@" not in item.nodeid:
            # The scheduler reads the group from the node id ("<id>@<group>"). pytest-xdist 3.8 writes it to
            # item._nodeid, which pytest 9.2 no longer reads (the id is item._id, a NodeId): without this every
            # test would be its own group, and each worker would build every session fixture.
            from _pytest.nodeid import NodeId

            groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                             for m in item.iter_markers("xdist_group")})
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


# The reliability figures (tests/reliability/figures.py) are counted in whichever process ran the tests: each
# xdist worker sends its counts back when it finishes, and the controller adds them up and prints them.

def pytest_sessionfinish(session, exitstatus):
    from tests.reliability import figures

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput["reliability_figures"] = dict(figures.FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    from tests.reliability import figures

    for name, n in (getattr(node, "workeroutput", None) or {}).get("reliability_figures", {}).items():
        figures.add(name, n)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.reliability import figures

    figures.print_once(terminalreporter)
