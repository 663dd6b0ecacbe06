"""What every benchmark figure shares: the result record, timing by medians, subprocesses.

Every figure is a *ratio* against a baseline measured in the same run, interleaved with
it round by round, because the machines this runs on are shared and noisy: an absolute
number means little, two numbers taken seconds apart under the same noise mean more.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "Figure",
    "Sizes",
    "interleaved",
    "per_call_ns",
    "python_env",
    "ratios",
    "run_python",
]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Sizes:
    """How hard each figure works: `full` for the published table, `quick` for CI smoke."""

    quick: bool
    rounds: int  # interleaved rounds of (ours, baseline); the median is reported
    conversion_calls: int  # calls per round of a conversion figure
    http_calls: int  # requests per round of a per-call figure
    startup_runs: int  # fresh interpreters per case
    bulk_invoices: int  # invoices migrated per bulk round
    bulk_listed: int  # invoices listed per bulk round
    limited_requests: int  # requests made under the rate limit
    limit: int  # the sandbox's rate limit: `limit` requests per `window` seconds
    window: float
    memory_small: int
    memory_large: int
    memory_page: int
    migrate_memory_small: int  # invoices migrated by the baseline of memory.migrate_*
    migrate_memory_large: int
    migrate_limited: int  # invoices migrated to a target under the rate limit

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if quick:
            return cls(quick=True, rounds=3, conversion_calls=20, http_calls=10, startup_runs=2,
                       bulk_invoices=40, bulk_listed=100, limited_requests=12, limit=6, window=1.0,
                       memory_small=100, memory_large=400, memory_page=100,
                       migrate_memory_small=20, migrate_memory_large=200, migrate_limited=20)
        return cls(quick=False, rounds=9, conversion_calls=2000, http_calls=200,
                   startup_runs=15, bulk_invoices=400, bulk_listed=2000, limited_requests=90,
                   limit=30,
                   window=5.0, memory_small=1_000, memory_large=100_000, memory_page=1000,
                   migrate_memory_small=1_000, migrate_memory_large=10_000,
                   migrate_limited=150)


@dataclass
class Figure:
    """One line of the table: our figure, its baseline, their ratio and the target.

    `better` says which way is good: `"lower"` for times and memory (ratio = ours /
    baseline, target is a maximum), `"higher"` for throughput (target is a minimum).
    """

    name: str
    what: str
    ours: float
    baseline: float
    unit: str
    baseline_name: str
    better: str
    target: float | None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    round_ratios: list[float] = field(default_factory=list)
    """ours / baseline of each interleaved round; the ratio is their median when given."""

    @property
    def ratio(self) -> float:
        if self.round_ratios:
            return statistics.median(self.round_ratios)
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio <= self.target if self.better == "lower" else self.ratio >= self.target

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = round(self.ratio, 4)
        data["ok"] = self.ok
        data["target_rule"] = (None if self.target is None else
                               f"ratio {'<=' if self.better == 'lower' else '>='} {self.target}")
        return data


def per_call_ns(fn: Callable[[], Any], calls: int) -> float:
    """CPU nanoseconds per call of *fn*, over *calls* back-to-back calls (GC paused).

    The CPU time of this process, not the wall clock: the per-call figures do all their
    work in this process (no socket, no server), and on a machine shared with other jobs
    the wall clock also counts the time the scheduler gives to those jobs, which moved
    one side or the other of a ratio by 20-40% between rounds.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.process_time_ns()
        for _ in range(calls):
            fn()
        return (time.process_time_ns() - start) / calls
    finally:
        if enabled:
            gc.enable()


def ratios(ours: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """The per-round ratios of two interleaved series (what `Figure.ratio` takes the
    median of: one noisy round moves a median of ratios less than a ratio of medians)."""
    return [a / b for a, b in zip(ours, baseline, strict=True) if b]


def interleaved(ours: Callable[[], float], baseline: Callable[[], float], rounds: int,
                *, warmup: bool = True) -> tuple[float, float, list[float], list[float]]:
    """Run *ours* and *baseline* alternately *rounds* times; their medians and samples.

    Each callable runs one round and returns its measurement. The order alternates per
    round, so a burst of noise does not always land on the same side.
    """
    if warmup:
        ours()
        baseline()
    a: list[float] = []
    b: list[float] = []
    for i in range(rounds):
        if i % 2:
            b.append(baseline())
            a.append(ours())
        else:
            a.append(ours())
            b.append(baseline())
    return statistics.median(a), statistics.median(b), a, b


def python_env() -> dict[str, str]:
    """The environment for child interpreters: this one's, UTF-8, no stray PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONUTF8"] = "1"
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONSTARTUP", None)
    return env


def run_python(code: str, args: Sequence[str] = (), *, timeout: float = 600) -> Any:
    """Run *code* in a fresh interpreter; its last stdout line, decoded as JSON."""
    done = subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True,
                          env=python_env(), timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child interpreter failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
