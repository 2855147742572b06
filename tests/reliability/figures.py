"""Figures of the reliability + security suite (printed at the end of a pytest run; docs/RELIABILITY.md
quotes the last run). Tests add to them as they go."""

from __future__ import annotations

FIGURES = {"corpus cases": 0, "rows read": 0, "rows lost": 0, "faults injected": 0, "hostile inputs": 0}


def add(name: str, n: int = 1) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + n


def summary() -> str:
    return "reliability figures: " + ", ".join(f"{k}: {v}" for k, v in FIGURES.items())


_printed = []


def print_once(terminalreporter) -> None:
    if any(FIGURES.values()) and not _printed:
        _printed.append(True)
        terminalreporter.write_line(summary())
