"""Kill the migration process (SIGKILL) at random points, resume, and prove exactly once.

The sandboxes run in this process; `invoicekit migrate` runs in a child that is killed
once a random number of further invoices were journaled as copied (so kills land in the
middle of writing), then resumed, several times, then run to the end.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_migrate_sandboxes import customer_map, write_configs

from invoicekit.migration import marker
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def journal_states(path: Path) -> dict[str, tuple[str, str | None]]:
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return {sid: (state, tid) for sid, state, tid in db.execute(
                "SELECT source_id, state, target_id FROM entries")}
        finally:
            db.close()
    except sqlite3.OperationalError:
        return {}  # the child has not created the tables yet


def done_count(path: Path) -> int:
    return sum(1 for state, _ in journal_states(path).values() if state == "done")


def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the migrations these tests kill. Children start cold; they share
    compiled bytecode even where the environment says not to write it
    (PYTHONDONTWRITEBYTECODE), in a cache of the test's own."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


def kill_once_done(child: subprocess.Popen[bytes], journal: Path, wanted: int,
                   round_: int) -> int:
    """SIGKILL *child* as soon as the journal records *wanted* copies done; 1 if it was
    killed, 0 if it ended first (the test fails after 30 s without progress)."""
    deadline = time.monotonic() + 30
    while child.poll() is None and done_count(journal) < wanted:
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"round {round_}: no progress")
        time.sleep(0.002)
    killed = 0
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
        killed = 1
    child.wait()
    assert child.stderr is not None
    child.stderr.close()
    return killed


def assert_each_ready_invoice_copied_once(dz: DayZeroSandbox, expected: dict[str, str],
                                          journal: Path) -> None:
    """Every ready source invoice is on the target exactly once, under the id the journal
    records as done; nothing else is there, and nothing is left in flight."""
    states = journal_states(journal)
    assert "in_flight" not in {state for state, _ in states.values()}
    copies: dict[str, list[str]] = {}
    for inv in dz.invoices.values():
        for sid in expected:
            if marker("salla", sid) in (inv["description"] or ""):
                copies.setdefault(sid, []).append(inv["id"])
    for sid, verdict in expected.items():
        if verdict == "ready":
            assert copies.get(sid) == [states[sid][1]], sid  # once, and the journal agrees
            assert states[sid][0] == "done"
        else:
            assert sid not in copies
    assert len(dz.invoices) == sum(1 for v in expected.values() if v == "ready")


def test_sigkill_at_random_points_then_resume_copies_each_invoice_once(
        sandboxes: tuple[SallaSandbox, DayZeroSandbox, dict[str, str]], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    salla, dz, expected = sandboxes
    salla_cfg, dz_cfg = write_configs(tmp_path, salla, dz)
    journal = tmp_path / "journal.db"
    command = [sys.executable, "-m", "invoicekit", "migrate", "--from", str(salla_cfg),
               "--to", str(dz_cfg), "--journal", str(journal), "--resume",
               "--rate", "SAR:USD=0.2666", "--due-days", "30", "--extras-as-lines",
               "--customer-map", str(customer_map(salla, dz, tmp_path))]
    env = child_env(tmp_path_factory)
    rng = random.Random(int(os.environ.get("MIGRATE_CRASH_SEED", "20260301")))
    ready = sum(1 for v in expected.values() if v == "ready")
    kills = 0
    for round_ in range(3):  # each round stops at most 12 copies further: all are killed
        before = done_count(journal)
        wanted = before + rng.randint(1, 12)
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=env)
        kills += kill_once_done(child, journal, wanted, round_)
    assert kills == 3
    assert 0 < done_count(journal) < ready
    final = subprocess.run([*command, "--verify", "--json"], capture_output=True, env=env,
                           timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode()
    assert_each_ready_invoice_copied_once(dz, expected, journal)
