"""Whole migrations with the journal in PostgreSQL: the same engine, the same exactly-once
rules, the same kill-and-resume proof as with the SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from migrate_support import policy
from test_migrate_sandboxes import buyer_of, customer_map, write_configs

import invoicekit
from invoicekit.migration import CustomerPolicy, MigrationReport, marker, migrate, migrate_async
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def states(url: str, conn: Any = None) -> dict[str, tuple[str, str | None]]:
    """The journal's entries, read on *conn* (one kept open while polling: a connection
    per poll would fork a server process each time) or a connection of its own."""
    import psycopg

    base, _, migration = url.partition("?migration=")
    with contextlib.ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(psycopg.connect(base, autocommit=True))
        try:
            return {sid: (state, tid) for sid, state, tid in conn.execute(
                "SELECT source_id, state, target_id FROM entries WHERE migration = %s",
                (migration,)).fetchall()}
        except psycopg.errors.UndefinedTable:
            return {}


def copies_on(dz: DayZeroSandbox, expected: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for inv in dz.invoices.values():
        for sid in expected:
            if marker("salla", sid) in (inv["description"] or ""):
                found.setdefault(sid, []).append(inv["id"])
    return found


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_migration_journaled_in_postgresql_copies_once_and_resumes(
        sandboxes: tuple[SallaSandbox, DayZeroSandbox, dict[str, str]], postgres_url: str,
        driver: str) -> None:
    salla_box, dz, expected = sandboxes
    journal = f"{postgres_url}?migration=store-{uuid.uuid4().hex[:8]}"
    stated = policy(customers=CustomerPolicy(create_by_email=True,
                                             resolver=buyer_of(salla_box)))

    def run(**options: Any) -> MigrationReport:
        if driver == "sync":
            with invoicekit.connect("salla", **salla_box.settings()) as salla, \
                    invoicekit.connect("dayzero", **dz.settings()) as dayzero:
                return migrate(salla, dayzero, journal=journal, policy=stated, **options)

        async def go() -> MigrationReport:
            async with invoicekit.connect_async("salla", **salla_box.settings()) as salla, \
                    invoicekit.connect_async("dayzero", **dz.settings()) as dayzero:
                return await migrate_async(salla, dayzero, journal=journal, policy=stated,
                                           concurrency=4, **options)
        return asyncio.run(go())

    ready = sum(1 for v in expected.values() if v == "ready")
    first = run(verify=True)
    assert first.written == ready
    assert first.verified == ready
    assert first.ok
    assert first.journal == journal
    again = run(resume=True, verify=True)
    assert again.written == 0
    assert again.ok
    found = copies_on(dz, expected)
    rows = states(journal)
    for sid, verdict in expected.items():
        if verdict == "ready":
            assert found.get(sid) == [rows[sid][1]]
        else:
            assert sid not in found


def test_sigkill_at_random_points_then_resume_with_a_postgresql_journal(
        sandboxes: tuple[SallaSandbox, DayZeroSandbox, dict[str, str]], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> None:
    salla, dz, expected = sandboxes
    salla_cfg, dz_cfg = write_configs(tmp_path, salla, dz)
    journal = f"{postgres_url}?migration=killed-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "invoicekit", "migrate", "--from", str(salla_cfg),
               "--to", str(dz_cfg), "--journal", journal, "--resume",
               "--rate", "SAR:USD=0.2666", "--due-days", "30", "--extras-as-lines",
               "--customer-map", str(customer_map(salla, dz, tmp_path))]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    rng = random.Random(int(os.environ.get("MIGRATE_CRASH_SEED", "20260301")))
    ready = sum(1 for v in expected.values() if v == "ready")

    import psycopg

    watch = psycopg.connect(postgres_url, autocommit=True)

    def done() -> int:
        return sum(1 for state, _ in states(journal, watch).values() if state == "done")

    try:
        kills = 0
        for round_ in range(3):
            wanted = done() + rng.randint(1, 12)
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
            deadline = time.monotonic() + 30
            while child.poll() is None and done() < wanted:
                if time.monotonic() > deadline:
                    child.kill()
                    _, err = child.communicate()
                    pytest.fail(f"round {round_}: no progress; the run said: {err.decode()}")
                time.sleep(0.005)
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                kills += 1
            _, err = child.communicate()
            assert child.returncode in (0, -signal.SIGKILL), err.decode()
        assert kills == 3
        assert 0 < done() < ready
    finally:
        watch.close()
    final = subprocess.run([*command, "--verify", "--json"], capture_output=True, env=env,
                           timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode()
    rows = states(journal)
    assert "in_flight" not in {state for state, _ in rows.values()}
    found = copies_on(dz, expected)
    for sid, verdict in expected.items():
        if verdict == "ready":
            assert found.get(sid) == [rows[sid][1]], sid
            assert rows[sid][0] == "done"
        else:
            assert sid not in found
    assert len(dz.invoices) == ready
