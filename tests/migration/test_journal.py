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
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from invoicekit import errors
from invoicekit.migration import Journal

FULL, NORMAL = 2, 1


class Place:
    """Where a test's journals live: SQLite files in a temporary directory, or migrations
    with ids of their own in one PostgreSQL database."""

    def __init__(self, kind: str, tmp_path: Path, url: str | None) -> None:
        self.kind, self.tmp_path, self.url = kind, tmp_path, url
        self.run = uuid.uuid4().hex[:8]

    def location(self, name: str) -> str:
        if self.url is None:
            return str(self.tmp_path / f"{name}.db")
        return f"{self.url}?migration={name}-{self.run}"

    def open(self, name: str = "move", **options: Any) -> Journal:
        return Journal(self.location(name), source="salla", target="dayzero", resume=True,
                       **options)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run *sql* on a second, independent connection to the database (committed)."""
        if self.url is None:
            raise AssertionError("use a path for SQLite")
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), tuple(params))
            return list(cur.fetchall()) if cur.description else []

    def side(self, journal: Journal, sql: str, params: Sequence[Any] = ()
             ) -> list[tuple[Any, ...]]:
        """Run *sql* (which names the migration as its first parameter) on a second
        connection to *journal*'s database."""
        args = (journal.migration, *params)
        if self.url is not None:
            return self.execute(sql, args)
        assert journal.path is not None
        db = sqlite3.connect(journal.path)
        try:
            rows = list(db.execute(sql, args).fetchall())
            db.commit()
            return rows
        finally:
            db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Place(request.param, tmp_path, url)


@pytest.fixture
def journal(place: Place) -> Iterator[Journal]:
    j = place.open()
    yield j
    j.close()


def plan(j: Journal, source_id: str, *, draft: str = '{"v": 1}', state: str = "planned",
         customer_key: str | None = None) -> None:
    with j.transaction() as db:
        j.upsert(db, source_id=source_id, source_number=f"N-{source_id}", kind="invoice",
                 fingerprint="fp", category="ready", reason=None, customer_key=customer_key,
                 customer_email=None if customer_key is None else f"{source_id}@example.sa",
                 customer_name=None, draft=draft, state=state)  # type: ignore[arg-type]


def on_disk(place: Place, journal: Journal, source_id: str
            ) -> tuple[str, int, str | None] | None:
    """`(state, attempts, error)` as a second, independent connection reads it."""
    rows = place.side(journal, "SELECT state, attempts, error FROM entries "
                      "WHERE migration = ? AND source_id = ?", (source_id,))
    return None if not rows else (rows[0][0], rows[0][1], rows[0][2])


def synchronous(j: Journal) -> int:
    return int(j.db.execute("PRAGMA synchronous").fetchone()[0])


def sqlite_only(place: Place) -> None:
    if place.kind != "sqlite":
        pytest.skip("about the SQLite file itself")


def open_journal(path: Path | str, **options: Any) -> Journal:
    return Journal(path, source="salla", target="dayzero", resume=True, **options)


# ---- durability --------------------------------------------------------------------------
def test_the_in_flight_mark_is_committed_before_mark_in_flight_returns(
        place: Place, journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", '{"v": 2}'))
    assert on_disk(place, journal, "1") == ("in_flight", 1, None)


def test_the_in_flight_mark_survives_a_process_killed_right_after_it(place: Place) -> None:
    location = place.location("killed")
    script = textwrap.dedent(f"""
        import os, signal
        from invoicekit.migration import Journal
        j = Journal({location!r}, source="salla", target="dayzero", resume=True)
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
    # the dead process's lease does not stop the next run
    again = Journal(location, source="salla", target="dayzero", resume=True)
    try:
        assert on_disk(place, again, "7") == ("in_flight", 1, None)
        entry = again.get("7")
        assert entry is not None
        assert (entry.state, entry.draft) == ("in_flight", '{"sent": true}')
    finally:
        again.close()


def test_durable_transactions_run_with_synchronous_full(
        place: Place, journal: Journal) -> None:
    sqlite_only(place)
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


def test_a_bulk_transaction_lowers_synchronous_and_restores_full(
        place: Place, journal: Journal) -> None:
    sqlite_only(place)
    with journal.transaction(durable=False):
        assert synchronous(journal) == NORMAL
    assert synchronous(journal) == FULL
    with pytest.raises(ZeroDivisionError, match="division by zero"), \
            journal.transaction(durable=False):
        1 / 0  # noqa: B018
    assert synchronous(journal) == FULL
    plan(journal, "1")
    journal.mark_done("1", "t-1")  # a NORMAL commit in between...
    journal.mark_failed("1", "x")
    assert synchronous(journal) == FULL  # ...leaves the next in-flight mark durable


def test_on_postgresql_only_bulk_transactions_commit_asynchronously(
        place: Place, journal: Journal) -> None:
    if place.kind != "postgresql":
        pytest.skip("about PostgreSQL's synchronous_commit")

    def setting() -> str:
        return str(journal.db.execute("SHOW synchronous_commit").fetchone()[0])

    assert setting() == "on"
    with journal.transaction(durable=False):
        assert setting() == "off"
    assert setting() == "on"
    with journal.transaction():
        assert setting() == "on"


def test_a_failed_transaction_leaves_nothing_behind(place: Place, journal: Journal) -> None:
    plan(journal, "1")

    def half_done() -> None:
        with journal.transaction() as db:
            journal.upsert(db, source_id="2", source_number=None, kind="invoice",
                           fingerprint="fp", category="ready", reason=None,
                           customer_key=None, customer_email=None, customer_name=None,
                           draft="{}", state="planned")
            db.execute("UPDATE entries SET state = 'in_flight' WHERE migration = ? "
                       "AND source_id = '1'", (journal.migration,))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        half_done()
    assert journal.get("2") is None
    assert on_disk(place, journal, "2") is None
    assert on_disk(place, journal, "1") == ("planned", 0, None)
    plan(journal, "3")  # the connection is usable: no transaction was left open
    assert on_disk(place, journal, "3") == ("planned", 0, None)


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


def test_mark_planned_only_moves_an_entry_in_flight(place: Place, journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_done("1", "t-1")
    journal.mark_planned("1", "not found")
    assert on_disk(place, journal, "1") == ("done", 1, None)
    plan(journal, "2")
    journal.mark_in_flight(("2", "{}"))
    journal.mark_planned("2", "not found")
    assert on_disk(place, journal, "2") == ("planned", 1, "not found")


def test_every_in_flight_mark_counts_an_attempt(journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_planned("1", "not found")
    journal.mark_in_flight(("1", "{}"))
    entry = journal.get("1")
    assert entry is not None
    assert entry.attempts == 2


def test_mark_failed_records_failed_and_the_reason(place: Place, journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_failed("1", "dayzero HTTP 422: customer_id: field required")
    assert on_disk(place, journal, "1") == ("failed", 1,
                                            "dayzero HTTP 422: customer_id: field required")
    assert journal.counts()["failed"] == 1


def test_mark_unknown_keeps_the_entry_in_flight_with_the_reason(
        place: Place, journal: Journal) -> None:
    plan(journal, "1")
    journal.mark_in_flight(("1", "{}"))
    journal.mark_unknown("1", "read timeout")
    assert on_disk(place, journal, "1") == ("in_flight", 1, "read timeout")


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


def test_the_schema_version_is_enforced(place: Place) -> None:
    if place.url is not None:
        # the format is the database's (one schema for every migration in it): give this
        # test a database of its own, not the one the other tests share
        name = f"old_{place.run}"
        place.execute(f"CREATE DATABASE {name}")
        place = Place(place.kind, place.tmp_path, place.url.rsplit("/", 1)[0] + "/" + name)
    j = place.open("old")
    place.side(j, "UPDATE meta SET value = '0' WHERE migration = ? AND key = 'version'")
    j.close()
    with pytest.raises(errors.ConfigurationError) as caught:
        place.open("old")
    assert str(caught.value) == (f"journal {j.location!r} has format '0'; this invoicekit "
                                 "writes '2'")
    assert caught.value.setting == "journal"


# ---- one run at a time: the lock and the lease -------------------------------------------
def test_a_symlink_to_a_journal_in_use_finds_the_same_lock(
        place: Place, journal: Journal, tmp_path: Path) -> None:
    sqlite_only(place)
    assert journal.path is not None
    alias = tmp_path / "alias.db"
    alias.symlink_to(journal.path)
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(alias)
    assert "is in use by another migration on this machine" in str(caught.value)
    assert f"{journal.path.resolve()}.lock" in str(caught.value)


def write_lease(place: Place, j: Journal, owner: str, expires: float) -> None:
    """Set the lease row as another process would have left it."""
    place.side(j, "DELETE FROM lease WHERE migration = ?")
    place.side(j, "INSERT INTO lease VALUES (?, ?, ?, 0)", (owner, expires))


def read_lease(place: Place, j: Journal) -> list[tuple[str, float]]:
    return [(o, e) for o, e in place.side(
        j, "SELECT owner, expires FROM lease WHERE migration = ?")]


def test_a_live_lease_of_another_machine_refuses_the_run(place: Place) -> None:
    j = place.open("shared")
    j.close()
    assert read_lease(place, j) == []  # closing gives the lease back
    write_lease(place, j, "worker-2:4242:abc", time.time() + 600)
    with pytest.raises(errors.ConfigurationError) as caught:
        place.open("shared")
    message = str(caught.value)
    assert message.startswith(f"the journal {j.location!r} is in use by another migration "
                              "(lease held by worker-2:4242:abc for ")
    assert read_lease(place, j)[0][0] == "worker-2:4242:abc"


def test_an_expired_lease_or_a_dead_local_owner_is_taken_over(place: Place) -> None:
    first = place.open("shared")
    first.close()
    write_lease(place, first, "worker-2:4242:abc", time.time() - 1)  # expired
    j = place.open("shared")
    assert read_lease(place, j)[0][0] == j.owner
    j.close()
    # a process of this machine that no longer exists: taken over at once
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    write_lease(place, j, f"{socket.gethostname()}:{child.stdout.strip()}:abc",
                time.time() + 600)
    j = place.open("shared")
    assert read_lease(place, j)[0][0] == j.owner
    j.close()
    # a live process of this machine (this one, under another owner id) is respected
    write_lease(place, j, f"{socket.gethostname()}:{os.getpid()}:other", time.time() + 600)
    with pytest.raises(errors.ConfigurationError, match=r"lease held by .*:other for "):
        place.open("shared")


def test_the_lease_is_renewed_while_the_journal_is_open(place: Place) -> None:
    j = place.open("renewed", lease_seconds=0.3)
    try:
        ((_, first),) = read_lease(place, j)
        deadline = time.monotonic() + 30
        while read_lease(place, j)[0][1] == first and time.monotonic() < deadline:
            time.sleep(0.05)
        ((owner, later),) = read_lease(place, j)
        assert owner == j.owner
        assert later > first
        write_lease(place, j, j.owner, 0.0)
        j.renew_lease()
        assert read_lease(place, j)[0][1] > time.time()
    finally:
        j.close()


def test_no_write_starts_under_a_lease_another_run_took_over(
        place: Place, journal: Journal) -> None:
    plan(journal, "1")
    write_lease(place, journal, "worker-2:4242:abc", time.time() + 600)
    with pytest.raises(errors.ConfigurationError) as caught:
        journal.mark_in_flight(("1", "{}"))
    assert str(caught.value) == (
        f"this run lost the lease on the journal {journal.location!r} (another migration "
        "took it over after it expired); stopping before any write")
    assert on_disk(place, journal, "1") == ("planned", 0, None)


def test_many_migrations_live_side_by_side_in_one_database(place: Place) -> None:
    if place.kind != "postgresql":
        pytest.skip("a SQLite file holds one migration")
    a, b = place.open("merchant-a"), place.open("merchant-b")
    try:
        plan(a, "1", draft='{"a": 1}')
        plan(b, "1", draft='{"b": 1}')
        a.mark_in_flight(("1", '{"a": 2}'))
        one_a, one_b = a.get("1"), b.get("1")
        assert one_a is not None
        assert one_b is not None
        assert (one_a.state, one_a.draft) == ("in_flight", '{"a": 2}')
        assert (one_b.state, one_b.draft) == ("planned", '{"b": 1}')
        assert (a.count(), b.count()) == (1, 1)
        assert a.owner != b.owner  # each migration has its own lease
        with pytest.raises(errors.ConfigurationError, match="lease held by"):
            place.open("merchant-a")
    finally:
        a.close()
        b.close()
    with pytest.raises(errors.ConfigurationError, match="belongs to the migration"):
        Journal(place.location("merchant-a"), source="dayzero", target="salla", resume=True)


def test_the_shown_location_never_carries_the_password(postgres_url: str) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cr3t-canary@")
    j = Journal(with_password + "?migration=pw", source="salla", target="dayzero",
                resume=True)
    try:
        assert j.location == postgres_url + "?migration=pw"
        assert "s3cr3t-canary" not in j.location
    finally:
        j.close()


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
                       match=r"is not a usable migration journal: no such column: value"):
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


def test_a_journal_of_the_first_format_is_refused_and_left_untouched(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    db = sqlite3.connect(old)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('version', '1'), ('source', 'salla'), ('target', 'dayzero');
        CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT UNIQUE,
                              state TEXT NOT NULL);
    """)
    db.commit()
    db.close()
    with pytest.raises(errors.ConfigurationError) as caught:
        open_journal(old)
    assert str(caught.value) == f"journal {str(old)!r} has format '1'; this invoicekit writes '2'"
    db = sqlite3.connect(old)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")}
    finally:
        db.close()
    assert tables == {"meta", "entries", "sqlite_sequence"}  # no table was added


def test_two_runs_taking_one_lease_at_once_are_serialized(postgres_url: str) -> None:
    """A run that starts while another is taking the lease waits for it, then sees the
    live lease: it never overwrites a lease it could not see yet."""
    import threading

    import psycopg

    location = f"{postgres_url}?migration=race-{uuid.uuid4().hex[:8]}"
    Journal(location, source="salla", target="dayzero", resume=True).close()  # the schema
    migration = location.rpartition("=")[2]
    outcome: list[BaseException | Journal] = []
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                      (f"invoicekit lease {migration}",))
        other.execute("INSERT INTO lease VALUES (%s, 'worker-2:4242:abc', %s, 0)",
                      (migration, time.time() + 600))

        def start() -> None:
            try:
                outcome.append(Journal(location, source="salla", target="dayzero",
                                       resume=True))
            except BaseException as exc:  # the outcome is the assertion
                outcome.append(exc)

        runner = threading.Thread(target=start)
        runner.start()
        with psycopg.connect(postgres_url, autocommit=True) as watch:
            deadline = time.monotonic() + 20
            while not watch.execute("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                    ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the second run never waited"
                time.sleep(0.01)
        other.execute("COMMIT")
        runner.join(30)
    (result,) = outcome
    if isinstance(result, Journal):
        result.close()
        pytest.fail("the second run took a live lease over")
    assert isinstance(result, errors.ConfigurationError)
    assert "lease held by worker-2:4242:abc" in str(result)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), True, "60"])
def test_lease_seconds_must_be_a_positive_number(tmp_path: Path, bad: object) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_journal(tmp_path / "j.db", lease_seconds=bad)
    assert str(caught.value) == f"lease_seconds must be a positive number of seconds, got {bad!r}"
    assert not (tmp_path / "j.db").exists()  # refused before anything was created


def test_a_postgresql_journal_without_psycopg_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    with pytest.raises(errors.ConfigurationError) as caught:
        Journal("postgresql://nobody@127.0.0.1:1/none?migration=m1", source="salla",
                target="dayzero", resume=False)
    assert str(caught.value) == (
        "the journal 'postgresql://nobody@127.0.0.1:1/none?migration=m1' is a PostgreSQL "
        "database, which needs psycopg: pip install 'invoicekit[postgres]'")
    assert caught.value.setting == "journal"
