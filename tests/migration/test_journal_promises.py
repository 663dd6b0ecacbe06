"""The journal's promises, each read back from the SQLite file by a second connection.

Written against the mutants `python3 dev.py mutate journal` found alive (docs/reliability.md,
"Mutation testing"). These tests call the journal directly on a file in a temporary folder,
with its clock fixed, so the whole set runs in a second or two and mutation testing can run
it against every mutant: what a test checks is what another process (the next run, a person
with `sqlite3`) would find in the file, not what the journal object says about itself.

SQLite reports the durability a transaction commits with: `PRAGMA synchronous` is 2 for
FULL (the commit waits for the disk) and 1 for NORMAL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from invoicekit import errors
from invoicekit.migration import Entry, Journal, _journal

FULL, NORMAL = 2, 1
NOW = 1_000.25  # the fixed clock: Unix seconds, with a fraction an `int` would lose


class Clock:
    """The journal's `time` module with `time()` set by hand (the wall clock entries and
    leases are stamped with); anything else (`monotonic`, `sleep`) is the real one."""

    def __init__(self) -> None:
        self.now = NOW

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(_journal, "time", fixed)
    return fixed


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "move.db"


@pytest.fixture
def journal(path: Path, clock: Clock) -> Iterator[Journal]:
    j = Journal(path, source="salla", target="dayzero", resume=True)
    yield j
    j.close()


def side(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run *sql* on a second, independent connection to the journal's file (committed)."""
    db = sqlite3.connect(path)
    try:
        rows = list(db.execute(sql, tuple(params)).fetchall())
        db.commit()
        return rows
    finally:
        db.close()


def row(path: Path, source_id: str) -> tuple[Any, ...] | None:
    """Every column of one entry, as a second connection reads it."""
    found = side(path, "SELECT source_id, source_number, kind, fingerprint, category, reason, "
                       "customer_key, customer_email, customer_name, draft, state, target_id, "
                       "error, changed, attempts, updated FROM entries WHERE source_id = ?",
                 (source_id,))
    return found[0] if found else None


def plan(j: Journal, source_id: str, *, state: str = "planned", category: str = "ready",
         customer: str | None = None, name: str | None = None, draft: str = '{"v": 1}'
         ) -> None:
    with j.transaction() as db:
        j.upsert(db, source_id=source_id, source_number=f"F-{source_id}", kind="invoice",
                 fingerprint=f"fp-{source_id}", category=category,  # type: ignore[arg-type]
                 reason=None if category == "ready" else "no email",
                 customer_key=None if customer is None else f"email:{customer}",
                 customer_email=customer, customer_name=name, draft=draft,
                 state=state)  # type: ignore[arg-type]


class Levels:
    """Stands in for the journal's SQLite connection and notes, for every statement that
    writes an entry, the `PRAGMA synchronous` level in force when it ran (the level its
    transaction commits with: nothing changes it between the write and `COMMIT`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.seen: list[int] = []

    def _note(self, sql: str) -> None:
        if sql.lstrip().lower().startswith(("update entries", "insert into entries")):
            self.seen.append(int(self.db.execute("PRAGMA synchronous").fetchone()[0]))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._note(sql)
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        self._note(sql)
        return self.db.executemany(sql, rows)

    def executescript(self, sql: str) -> Any:
        return self.db.executescript(sql)

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def levels(journal: Journal) -> Levels:
    store = journal.store
    assert isinstance(store, _journal._SQLite)
    spy = Levels(store.db)
    store.db = spy  # type: ignore[assignment]
    return spy


def level(j: Journal) -> int:
    return int(j.db.execute("PRAGMA synchronous").fetchone()[0])


# ---- durability: FULL for the marks that decide exactly-once, NORMAL only for bookkeeping ---
def test_a_durable_transaction_syncs_fully_and_a_light_one_only_for_its_length(
        journal: Journal) -> None:
    with journal.transaction(durable=True) as db:
        assert int(db.execute("PRAGMA synchronous").fetchone()[0]) == FULL
    with journal.transaction(durable=False) as db:
        assert int(db.execute("PRAGMA synchronous").fetchone()[0]) == NORMAL
    with journal.transaction() as db:  # durable unless told otherwise
        assert int(db.execute("PRAGMA synchronous").fetchone()[0]) == FULL


def test_each_mark_commits_at_its_documented_durability_and_full_is_restored(
        journal: Journal, levels: Levels) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", '{"v": 2}'))
    journal.mark_done("1", "t-1")
    plan(journal, "2")
    journal.mark_in_flight(("2", "{}"))
    journal.mark_failed("2", "refused")
    journal.mark_in_flight(("2", "{}"))
    journal.mark_unknown("2", "read timeout")
    journal.mark_planned("2", "not found")
    # plan, in flight, done (NORMAL), plan, in flight, failed (NORMAL), in flight, unknown,
    # planned again: everything but done and failed waits for the disk
    assert levels.seen == [FULL, FULL, NORMAL, FULL, FULL, NORMAL, FULL, FULL, FULL]
    assert level(journal) == FULL  # the connection is back at FULL for the next mark


def test_a_light_transaction_that_cannot_begin_leaves_synchronous_full(
        journal: Journal, path: Path) -> None:
    journal.db.execute("PRAGMA busy_timeout=0")  # fail at once rather than wait 5 s
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"), \
                journal.transaction(durable=False):
            pytest.fail("the transaction began")  # pragma: no cover
        assert level(journal) == FULL
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_failed_light_transaction_rolls_back_and_restores_full(
        journal: Journal, path: Path) -> None:
    plan(journal, "1")

    def half_done() -> None:
        with journal.transaction(durable=False) as db:
            journal.upsert(db, source_id="2", source_number=None, kind="invoice",
                           fingerprint="fp", category="ready", reason=None, customer_key=None,
                           customer_email=None, customer_name=None, draft="{}",
                           state="planned")
            journal.mark_changed(db, "1", True)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        half_done()
    assert row(path, "2") is None  # rolled back, not committed
    assert row(path, "1") is not None
    assert row(path, "1")[13] == 0  # type: ignore[index]
    assert level(journal) == FULL
    plan(journal, "3")  # no transaction was left open
    assert row(path, "3") is not None


# ---- the entries, field by field ---------------------------------------------------------
def test_an_entry_is_recorded_and_read_back_field_by_field(
        journal: Journal, path: Path, clock: Clock) -> None:
    plan(journal, "1", customer="a@example.sa", name="عميل", draft='{"v": 1}')
    assert row(path, "1") == ("1", "F-1", "invoice", "fp-1", "ready", None, "email:a@example.sa",
                              "a@example.sa", "عميل", '{"v": 1}', "planned", None, None, 0, 0,
                              NOW)
    clock.now = 2_000.5
    journal.mark_in_flight(("1", '{"v": 2}'))
    assert journal.get("1") == Entry(
        seq=1, source_id="1", source_number="F-1", kind="invoice", fingerprint="fp-1",
        category="ready", reason=None, customer_key="email:a@example.sa",
        customer_email="a@example.sa", customer_name="عميل", draft='{"v": 2}',
        state="in_flight", target_id=None, error=None, changed=False, attempts=1,
        updated=2_000.5)
    journal.mark_done("1", "t-1", note="2 copies found: t-1, t-9")
    with journal.transaction() as db:
        journal.mark_changed(db, "1", True)
    plan(journal, "2", category="needs_mapping")
    assert journal.get_many(["1", "2", "3"]) == {
        "1": Entry(seq=1, source_id="1", source_number="F-1", kind="invoice",
                   fingerprint="fp-1", category="ready", reason=None,
                   customer_key="email:a@example.sa", customer_email="a@example.sa",
                   customer_name="عميل", draft='{"v": 2}', state="done", target_id="t-1",
                   error="2 copies found: t-1, t-9", changed=True, attempts=1,
                   updated=2_000.5),
        "2": Entry(seq=2, source_id="2", source_number="F-2", kind="invoice",
                   fingerprint="fp-2", category="needs_mapping", reason="no email",
                   customer_key=None, customer_email=None, customer_name=None,
                   draft='{"v": 1}', state="planned", target_id=None, error=None,
                   changed=False, attempts=0, updated=2_000.5)}
    assert journal.get_many([]) == {}
    assert journal.get("3") is None
    with journal.transaction() as db:
        journal.mark_changed(db, "1", False)
    assert row(path, "1")[13] == 0  # type: ignore[index]


def test_planning_again_replans_planned_and_failed_entries_only(
        journal: Journal, path: Path) -> None:
    for sid in ("planned", "failed", "in_flight", "done"):
        plan(journal, sid, draft='{"v": 1}')
    journal.mark_in_flight(("failed", "{}"), ("in_flight", '{"sent": 1}'), ("done", "{}"))
    journal.mark_failed("failed", "refused")
    journal.mark_done("done", "t-1")
    for sid in ("planned", "failed", "in_flight", "done"):
        plan(journal, sid, category="needs_mapping", draft='{"v": 9}')
    seen = {sid: (r[4], r[9], r[10]) for sid in ("planned", "failed", "in_flight", "done")
            if (r := row(path, sid)) is not None}
    assert seen == {"planned": ("needs_mapping", '{"v": 9}', "planned"),
                    "failed": ("needs_mapping", '{"v": 9}', "planned"),
                    "in_flight": ("ready", '{"sent": 1}', "in_flight"),
                    "done": ("ready", "{}", "done")}


def test_the_in_flight_mark_is_on_disk_for_each_write_of_a_group_commit(
        journal: Journal, path: Path, clock: Clock) -> None:
    plan(journal, "1")
    plan(journal, "2")
    plan(journal, "3")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_failed("1", "refused")
    clock.now = 1_500.0
    journal.mark_in_flight(("1", '{"n": 1}'), ("2", '{"n": 2}'))  # one commit, two writes
    assert [(r[10], r[9], r[12], r[14], r[15]) for r in (row(path, "1"), row(path, "2"),
                                                         row(path, "3")) if r] == [
        ("in_flight", '{"n": 1}', None, 2, 1_500.0),  # the failure's reason is cleared
        ("in_flight", '{"n": 2}', None, 1, 1_500.0),
        ("planned", '{"v": 1}', None, 0, NOW)]


def test_an_in_flight_batch_records_the_copies_done_since_the_last_in_its_commit(
        journal: Journal, path: Path, clock: Clock, levels: Levels) -> None:
    for sid in ("1", "2", "3", "4"):
        plan(journal, sid)
    journal.mark_in_flight(("1", '{"n": 1}'), ("2", '{"n": 2}'))
    levels.seen.clear()
    clock.now = 1_700.0
    journal.mark_in_flight(("3", '{"n": 3}'),
                           done=[("1", "t-1", None), ("2", "t-2", "2 copies found: t-2, t-8")])
    # the copies done and the marks, written in the one durable (FULL) transaction
    assert levels.seen == [FULL, FULL]
    assert [(r[10], r[9], r[11], r[12], r[14], r[15])
            for r in (row(path, sid) for sid in ("1", "2", "3", "4")) if r] == [
        ("done", '{"n": 1}', "t-1", None, 1, 1_700.0),
        ("done", '{"n": 2}', "t-2", "2 copies found: t-2, t-8", 1, 1_700.0),
        ("in_flight", '{"n": 3}', None, None, 1, 1_700.0),
        ("planned", '{"v": 1}', None, None, 0, NOW)]
    journal.marks_done(("3", "t-3", None))  # the last copies, without a batch after them
    assert levels.seen == [FULL, FULL, NORMAL]
    assert row(path, "3")[10:12] == ("done", "t-3")  # type: ignore[index]


def test_mark_failed_unknown_and_planned_are_what_the_next_run_reads(
        journal: Journal, path: Path, clock: Clock) -> None:
    plan(journal, "1")
    plan(journal, "2")
    journal.mark_in_flight(("1", "{}"), ("2", "{}"))
    clock.now = 1_100.0
    journal.mark_failed("1", "dayzero HTTP 422: due_date: field required")
    journal.mark_unknown("2", "read timeout")
    assert [(r[10], r[12], r[14], r[15]) for r in (row(path, "1"), row(path, "2")) if r] == [
        ("failed", "dayzero HTTP 422: due_date: field required", 1, 1_100.0),
        ("in_flight", "read timeout", 1, 1_100.0)]
    clock.now = 1_200.0
    journal.mark_planned("1", "not found")  # only an entry in flight goes back to planned
    journal.mark_planned("2", "not found")
    assert [(r[10], r[12], r[15]) for r in (row(path, "1"), row(path, "2")) if r] == [
        ("failed", "dayzero HTTP 422: due_date: field required", 1_100.0),
        ("planned", "not found", 1_200.0)]


# ---- customers -----------------------------------------------------------------------------
def test_customers_are_recorded_in_flight_then_done(journal: Journal, path: Path,
                                                   clock: Clock) -> None:
    assert journal.customer("email:a@example.sa") is None
    journal.customer_in_flight("email:a@example.sa")
    journal.customer_in_flight("email:b@example.sa")
    assert journal.customer("email:a@example.sa") == (None, "in_flight")
    assert journal.customers_in_flight() == ["email:a@example.sa", "email:b@example.sa"]
    clock.now = 1_300.0
    journal.customer_done("email:a@example.sa", "cust-7")
    assert side(path, "SELECT key, target_id, state, updated FROM customers ORDER BY key") == [
        ("email:a@example.sa", "cust-7", "done", 1_300.0),
        ("email:b@example.sa", None, "in_flight", NOW)]
    assert journal.customer("email:a@example.sa") == ("cust-7", "done")
    assert journal.customers_in_flight() == ["email:b@example.sa"]
    clock.now = 1_400.0
    journal.customer_in_flight("email:a@example.sa")  # created again: in flight again
    assert journal.customer("email:a@example.sa") == ("cust-7", "in_flight")
    assert side(path, "SELECT updated FROM customers WHERE key = 'email:a@example.sa'") == [
        (1_400.0,)]


def test_pending_customers_are_those_ready_invoices_still_need(journal: Journal) -> None:
    plan(journal, "1", customer="b@example.sa", name="Bassam")
    plan(journal, "2", customer="a@example.sa", name="Amal")
    plan(journal, "3", customer="a@example.sa", name="Aaliyah")  # one customer, two names
    plan(journal, "4", customer="c@example.sa")  # its invoice fails: still needed
    plan(journal, "5", customer="d@example.sa")  # its invoice is in flight: not needed
    plan(journal, "6", customer="e@example.sa")  # copied
    plan(journal, "7", customer="f@example.sa", category="needs_mapping")
    plan(journal, "8")  # no customer
    journal.mark_in_flight(("4", "{}"), ("5", "{}"), ("6", "{}"))
    journal.mark_failed("4", "the customer could not be created")
    journal.mark_done("6", "t-6")
    assert list(journal.pending_customers()) == [
        ("email:a@example.sa", "a@example.sa", "Aaliyah"),
        ("email:b@example.sa", "b@example.sa", "Bassam"),
        ("email:c@example.sa", "c@example.sa", None)]
    journal.customer_in_flight("email:a@example.sa")  # started, not known to be done
    journal.customer_in_flight("email:b@example.sa")
    journal.customer_done("email:b@example.sa", "cust-b")
    assert [key for key, _, _ in journal.pending_customers()] == [
        "email:a@example.sa", "email:c@example.sa"]


# ---- the schema version --------------------------------------------------------------------
def test_a_journal_of_another_format_is_refused_with_a_typed_error(path: Path) -> None:
    Journal(path, source="salla", target="dayzero", resume=True).close()
    side(path, "UPDATE meta SET value = '3' WHERE key = 'version'")
    with pytest.raises(errors.ConfigurationError) as caught:
        Journal(path, source="salla", target="dayzero", resume=True)
    assert str(caught.value) == f"journal {str(path)!r} has format '3'; this invoicekit writes '2'"
    assert caught.value.setting == "journal"
    assert side(path, "SELECT value FROM meta WHERE key = 'version'") == [("3",)]  # untouched
    assert side(path, "SELECT owner FROM lease") == []  # refused before the lease


# ---- the lease -----------------------------------------------------------------------------
def lease(path: Path) -> list[tuple[Any, ...]]:
    return side(path, "SELECT migration, owner, expires, acquired FROM lease")


def test_opening_takes_the_lease_for_its_lifetime_and_closing_gives_it_back(
        path: Path, clock: Clock) -> None:
    j = Journal(path, source="salla", target="dayzero", resume=True, lease_seconds=90)
    assert lease(path) == [("default", j.owner, NOW + 90, NOW)]
    clock.now = 1_030.0
    j.renew_lease()
    assert lease(path) == [("default", j.owner, 1_120.0, NOW)]
    j._take_lease()  # this run's own live lease is no obstacle
    assert lease(path) == [("default", j.owner, 1_120.0, 1_030.0)]
    j.close()
    assert lease(path) == []


def test_a_live_lease_of_another_owner_refuses_the_run_and_an_expired_one_does_not(
        path: Path, clock: Clock) -> None:
    Journal(path, source="salla", target="dayzero", resume=True).close()
    side(path, "INSERT INTO lease VALUES ('default', 'worker-2:4242:abc', 1600.25, 0)")
    with pytest.raises(errors.ConfigurationError) as caught:
        Journal(path, source="salla", target="dayzero", resume=True)
    assert str(caught.value) == (f"the journal {str(path)!r} is in use by another migration "
                                 "(lease held by worker-2:4242:abc for 600 s more)")
    assert caught.value.setting == "journal"
    assert lease(path) == [("default", "worker-2:4242:abc", 1_600.25, 0)]
    clock.now = 1_600.25  # the lease ends now: it has expired
    j = Journal(path, source="salla", target="dayzero", resume=True)
    try:
        assert lease(path) == [("default", j.owner, 1_660.25, 1_600.25)]
    finally:
        j.close()


def test_the_lease_is_taken_under_the_migrations_own_lock(journal: Journal) -> None:
    keys: list[str] = []
    store = journal.store
    store.serialize = keys.append  # type: ignore[method-assign,assignment]
    journal._take_lease()
    assert keys == ["invoicekit lease default"]


def test_an_in_flight_mark_under_a_lost_lease_writes_nothing(
        journal: Journal, path: Path, clock: Clock) -> None:
    plan(journal, "1")
    side(path, "UPDATE lease SET owner = 'worker-2:4242:abc'")
    with pytest.raises(errors.ConfigurationError) as caught:
        journal.mark_in_flight(("1", "{}"))
    assert str(caught.value) == (
        f"this run lost the lease on the journal {str(path)!r} (another migration took it "
        "over after it expired); stopping before any write")
    assert caught.value.setting == "journal"
    assert row(path, "1")[10:15] == ("planned", None, None, 0, 0)  # type: ignore[index]
    assert level(journal) == FULL
