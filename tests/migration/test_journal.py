"""The journal's promises, proven on the file itself rather than through behaviour alone.

Each test here is one that a one-line change of `_journal.py` turns red: the in-flight
mark committed (and with `synchronous=FULL`) before the write, `FULL` restored after a
bulk transaction, `ROLLBACK` on error, the upsert and `mark_planned` guards, attempts,
`mark_failed`, the schema version, pending customers, the lock on the resolved path, the
lease in the database, and no connection leaked by a journal that fails to open.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoicekit import errors
from invoicekit.migration import Journal

FULL, NORMAL = 2, 1


def open_journal(path: Path, **options: Any) -> Journal:
    return Journal(path, source="salla", target="dayzero", resume=True, **options)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = open_journal(tmp_path / "move.db")
    yield j
    j.close()


def plan(j: Journal, source_id: str, *, draft: str = '{"v": 1}', state: str = "planned",
         customer_key: str | None = None) -> None:
    with j.transaction() as db:
        j.upsert(db, source_id=source_id, source_number=f"N-{source_id}", kind="invoice",
                 fingerprint="fp", category="ready", reason=None, customer_key=customer_key,
                 customer_email=None if customer_key is None else f"{source_id}@example.sa",
                 customer_name=None, draft=draft, state=state)  # type: ignore[arg-type]


def on_disk(path: Path, source_id: str) -> tuple[str, int, str | None] | None:
    """`(state, attempts, error)` as a second, independent connection reads the file."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT state, attempts, error FROM entries WHERE source_id = ?",
                         (source_id,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])
    finally:
        db.close()


def synchronous(j: Journal) -> int:
    return int(j.db.execute("PRAGMA synchronous").fetchone()[0])


# ---- durability --------------------------------------------------------------------------
def test_the_in_flight_mark_is_committed_before_mark_in_flight_returns(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", '{"v": 2}'))
    assert on_disk(journal.path, "1") == ("in_flight", 1, None)
    assert not journal.db.in_transaction


def test_the_in_flight_mark_survives_a_process_killed_right_after_it(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    script = textwrap.dedent(f"""
        import os, signal
        from invoicekit.migration import Journal
        j = Journal({str(path)!r}, source="salla", target="dayzero", resume=True)
        with j.transaction() as db:
            j.upsert(db, source_id="7", source_number=None, kind="invoice",
                     fingerprint="fp", category="ready", reason=None, customer_key=None,
                     customer_email=None, customer_name=None, draft="{{}}", state="planned")
        j.mark_in_flight(("7", '{{"sent": true}}'))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60,
                           check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert on_disk(path, "7") == ("in_flight", 1, None)
    # the dead process's lease does not stop the next run
    again = open_journal(path)
    try:
        entry = again.get("7")
        assert entry is not None
        assert (entry.state, entry.draft) == ("in_flight", '{"sent": true}')
    finally:
        again.close()


def test_durable_transactions_run_with_synchronous_full(journal: Journal) -> None:
    seen: list[str] = []
    journal.db.set_trace_callback(seen.append)
    plan(journal, "1")
    assert synchronous(journal) == FULL
    seen.clear()
    journal.mark_in_flight(("1", "{}"))
    assert not any("synchronous" in s for s in seen)  # committed under FULL, not lowered
    assert seen[0] == "BEGIN IMMEDIATE"
    assert seen[-1] == "COMMIT"
    assert any(s.startswith("UPDATE entries SET state = 'in_flight'") for s in seen)


def test_a_bulk_transaction_lowers_synchronous_and_restores_full(journal: Journal) -> None:
    with journal.transaction(durable=False):
        assert synchronous(journal) == NORMAL
    assert synchronous(journal) == FULL
    with pytest.raises(ZeroDivisionError), journal.transaction(durable=False):
        1 / 0  # noqa: B018
    assert synchronous(journal) == FULL
    plan(journal, "1")
    journal.mark_done("1", "t-1")  # a NORMAL commit in between...
    journal.mark_failed("1", "x")
    assert synchronous(journal) == FULL  # ...leaves the next in-flight mark durable


def test_a_failed_transaction_leaves_nothing_behind(journal: Journal) -> None:
    plan(journal, "1")
    def half_done() -> None:
        with journal.transaction() as db:
            journal.upsert(db, source_id="2", source_number=None, kind="invoice",
                           fingerprint="fp", category="ready", reason=None,
                           customer_key=None, customer_email=None, customer_name=None,
                           draft="{}", state="planned")
            db.execute("UPDATE entries SET state = 'in_flight' WHERE source_id = '1'")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        half_done()
    assert not journal.db.in_transaction
    assert journal.get("2") is None
    assert on_disk(journal.path, "2") is None
    assert on_disk(journal.path, "1") == ("planned", 0, None)


# ---- the rules of the states ---------------------------------------------------------------
def test_planning_again_never_replans_an_entry_in_flight_or_done(journal: Journal) -> None:
    plan(journal, "1", draft='{"v": 1}')
    plan(journal, "2", draft='{"v": 1}')
    journal.mark_in_flight(("1", '{"sent": 1}'), ("2", '{"sent": 2}'))
    journal.mark_done("2", "t-2")
    plan(journal, "1", draft='{"v": 9}')
    plan(journal, "2", draft='{"v": 9}')
    one, two = journal.get("1"), journal.get("2")
    assert one is not None
    assert two is not None
    assert (one.state, one.draft) == ("in_flight", '{"sent": 1}')
    assert (two.state, two.draft, two.target_id) == ("done", '{"sent": 2}', "t-2")
    plan(journal, "3", draft='{"v": 1}')
    plan(journal, "3", draft='{"v": 2}')  # a planned entry is re-planned
    three = journal.get("3")
    assert three is not None
    assert three.draft == '{"v": 2}'


def test_mark_planned_only_moves_an_entry_in_flight(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_done("1", "t-1")
    journal.mark_planned("1", "not found")
    assert on_disk(journal.path, "1") == ("done", 1, None)
    plan(journal, "2")
    journal.mark_in_flight(("2", "{}"))
    journal.mark_planned("2", "not found")
    assert on_disk(journal.path, "2") == ("planned", 1, "not found")


def test_every_in_flight_mark_counts_an_attempt(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_planned("1", "not found")
    journal.mark_in_flight(("1", "{}"))
    entry = journal.get("1")
    assert entry is not None
    assert entry.attempts == 2


def test_mark_failed_records_failed_and_the_reason(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_failed("1", "dayzero HTTP 422: customer_id: field required")
    assert on_disk(journal.path, "1") == ("failed", 1,
                                          "dayzero HTTP 422: customer_id: field required")
    assert journal.counts()["failed"] == 1


def test_mark_unknown_keeps_the_entry_in_flight_with_the_reason(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_unknown("1", "read timeout")
    assert on_disk(journal.path, "1") == ("in_flight", 1, "read timeout")


def test_pending_customers_include_those_of_failed_entries(journal: Journal) -> None:
    plan(journal, "1", customer_key="email:a@example.sa")
    plan(journal, "2", customer_key="email:b@example.sa")
    plan(journal, "3", customer_key="email:c@example.sa")
    journal.mark_in_flight(("2", "{}"), ("3", "{}"))
    journal.mark_failed("2", "customer missing")
    journal.mark_done("3", "t-3")
    assert [key for key, _, _ in journal.pending_customers()] == [
        "email:a@example.sa", "email:b@example.sa"]
    journal.customer_in_flight("email:b@example.sa")
    journal.customer_done("email:b@example.sa", "cust-b")
    assert [key for key, _, _ in journal.pending_customers()] == ["email:a@example.sa"]


def test_the_schema_version_is_enforced(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    open_journal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'version'")
    db.commit()
    db.close()
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(path)
    assert str(caught.value) == (f"journal {str(path)!r} has format '0'; this invoicekit "
                                 "writes '1'")
    assert caught.value.setting == "journal"


# ---- one run at a time: the lock and the lease -------------------------------------------
def test_a_symlink_to_a_journal_in_use_finds_the_same_lock(
        journal: Journal, tmp_path: Path) -> None:
    alias = tmp_path / "alias.db"
    alias.symlink_to(journal.path)
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(alias)
    assert "is in use by another migration on this machine" in str(caught.value)
    assert f"{journal.path.resolve()}.lock" in str(caught.value)


def write_lease(path: Path, owner: str, expires: float) -> None:
    """Set the lease row as another process would have left it."""
    db = sqlite3.connect(path)
    db.execute("INSERT OR REPLACE INTO lease VALUES ('default', ?, ?, 0)", (owner, expires))
    db.commit()
    db.close()


def read_lease(path: Path) -> list[tuple[str, float]]:
    db = sqlite3.connect(path)
    try:
        return [(o, e) for o, e in db.execute("SELECT owner, expires FROM lease")]
    finally:
        db.close()


def test_a_live_lease_of_another_machine_refuses_the_run(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    open_journal(path).close()
    assert read_lease(path) == []  # closing gives the lease back
    write_lease(path, "worker-2:4242:abc", time.time() + 600)
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(path)
    message = str(caught.value)
    assert message.startswith(f"the journal {str(path)!r} is in use by another migration "
                              "(lease held by worker-2:4242:abc for ")
    assert read_lease(path)[0][0] == "worker-2:4242:abc"


def test_an_expired_lease_or_a_dead_local_owner_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    open_journal(path).close()
    write_lease(path, "worker-2:4242:abc", time.time() - 1)  # expired
    j = open_journal(path)
    assert read_lease(path)[0][0] == j.owner
    j.close()
    # a process of this machine that no longer exists: taken over at once
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    write_lease(path, f"{socket.gethostname()}:{child.stdout.strip()}:abc", time.time() + 600)
    j = open_journal(path)
    assert read_lease(path)[0][0] == j.owner
    j.close()
    # a live process of this machine (this one, under another owner id) is respected
    write_lease(path, f"{socket.gethostname()}:{os.getpid()}:other", time.time() + 600)
    with pytest.raises(errors.ConfigurationError, match=r"lease held by .*:other for "):
        open_journal(path)


def test_the_lease_is_renewed_while_the_journal_is_open(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "renewed.db", lease_seconds=0.3)
    try:
        ((_, first),) = read_lease(j.path)
        deadline = time.monotonic() + 30
        while read_lease(j.path)[0][1] == first and time.monotonic() < deadline:
            time.sleep(0.05)
        ((owner, later),) = read_lease(j.path)
        assert owner == j.owner
        assert later > first
        write_lease(j.path, j.owner, 0.0)
        j.renew_lease()
        assert read_lease(j.path)[0][1] > time.time()
    finally:
        j.close()


def test_no_write_starts_under_a_lease_another_run_took_over(journal: Journal) -> None:
    plan(journal, "1")
    write_lease(journal.path, "worker-2:4242:abc", time.time() + 600)
    with pytest.raises(errors.ConfigurationError) as caught:
        journal.mark_in_flight(("1", "{}"))
    assert str(caught.value) == (
        f"this run lost the lease on the journal {str(journal.path)!r} (another migration "
        "took it over after it expired); stopping before any write")
    assert on_disk(journal.path, "1") == ("planned", 0, None)


# ---- a journal that fails to open leaks nothing ------------------------------------------
@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    made: list[sqlite3.Connection] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        made.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return made


def assert_all_closed(made: list[sqlite3.Connection]) -> None:
    assert made
    for conn in made:
        with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
            conn.execute("SELECT 1")


def test_a_file_that_is_not_a_journal_leaks_no_connection(
        tmp_path: Path, connections: list[sqlite3.Connection]) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(garbage)
    assert str(caught.value).startswith(f"{str(garbage)!r} is not a usable migration journal: ")
    assert_all_closed(connections)
    # the lock was released too: a good journal at that path opens
    garbage.unlink()
    open_journal(garbage).close()


def test_a_sqlite_file_of_another_shape_leaks_no_connection(
        tmp_path: Path, connections: list[sqlite3.Connection]) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (name TEXT)")  # not the journal's meta
    db.commit()
    db.close()
    connections.clear()
    with pytest.raises(errors.ConfigurationError,
                       match=r"is not a usable migration journal: no such column: key"):
        open_journal(other)
    assert_all_closed(connections)


def test_every_refusal_on_opening_closes_its_connection(
        tmp_path: Path, connections: list[sqlite3.Connection]) -> None:
    path = tmp_path / "move.db"
    j = open_journal(path)
    plan(j, "1")
    j.close()
    connections.clear()
    with pytest.raises(errors.ConfigurationError, match="pass resume=True"):
        Journal(path, source="salla", target="dayzero", resume=False)
    with pytest.raises(errors.ConfigurationError, match="belongs to the migration"):
        Journal(path, source="dayzero", target="salla", resume=True)
    assert_all_closed(connections)


def test_invoicekit_migrate_through_a_symlink_is_refused_while_a_run_holds_the_journal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_migrate_sandboxes import write_configs

    from invoicekit.migration._cli import main
    from invoicekit_dayzero.sandbox import DayZeroSandbox
    from invoicekit_salla.sandbox import SallaSandbox

    with SallaSandbox() as salla, DayZeroSandbox() as dz:
        salla_cfg, dz_cfg = write_configs(tmp_path, salla, dz)
        held = open_journal(tmp_path / "move.db")
        (tmp_path / "alias.db").symlink_to(held.path)
        try:
            status = main(["--from", str(salla_cfg), "--to", str(dz_cfg), "--journal",
                           str(tmp_path / "alias.db"), "--resume", "--rate",
                           "SAR:USD=0.2666", "--due-days", "30"])
        finally:
            held.close()
        assert status == 2
        err = capsys.readouterr().err
        assert "is in use by another migration on this machine" in err
        assert dz.count("POST") == 0
