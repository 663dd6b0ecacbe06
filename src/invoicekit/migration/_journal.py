"""The migration journal: what makes a migration exactly-once and resumable.

Per source invoice it records the content fingerprint, the plan category and reason,
the draft to write, the state (`planned`, `in_flight`, `done`, `skipped`, `failed`),
the target id and the last error. The two transitions that decide exactly-once
(`in_flight` before a write, `done` after it) are committed durably (the async engine
marks a batch of up to twice `concurrency` writes in flight in one commit), so a write is never
started without a record that survives a power cut. Everything else is committed with
relaxed durability, which is still safe from a killed process: after a power cut a lost
plan batch is planned again, and a lost `done` leaves the entry in flight, where
reconciliation finds the copy by its marker.

**Storage.** One schema, in one of two databases behind the same small interface
(`_Store`): a SQLite file (the default: `journal="move.db"`; WAL, durable commits with
`synchronous=FULL`, relaxed ones with `NORMAL`) or PostgreSQL by URL
(`journal="postgresql://user@host/db?migration=merchant-42"`, psycopg 3, imported only
then; relaxed commits with `synchronous_commit=off`). Every row is keyed by a migration
id, so one PostgreSQL database holds many migrations side by side (a SQLite file holds
one, `default`). The same SQL, the same rules, the same tests run on both.

**One run at a time.** Two guards keep two runs off one migration, whatever names it:

* for a SQLite file, a lock file beside its *resolved* path, held with `flock` while the
  journal is open (a symlink finds the same lock; a second process on this machine is
  refused at once);
* on both, a **lease** row per migration: the owner (host, process id and a random
  part), and when it expires. It is renewed while the journal is open (a thread renews
  it every third of its lifetime) and every in-flight mark checks, in its own
  transaction, that this run still holds it, so no write ever starts under a lease
  another process has taken over. A live lease of another owner refuses the run; an
  expired one, or one whose owner is a dead process of this machine, is taken over.
"""

from __future__ import annotations

import abc
import contextlib
import math
import os
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from .. import errors

__all__ = ["CATEGORIES", "DEFAULT_LEASE_SECONDS", "STATES", "Category", "Entry", "Journal",
           "State", "is_database_url"]

State = Literal["planned", "in_flight", "done", "skipped", "failed"]
Category = Literal["ready", "needs_mapping", "cannot_carry"]
STATES: Final[tuple[State, ...]] = ("planned", "in_flight", "done", "skipped", "failed")
CATEGORIES: Final[tuple[Category, ...]] = ("ready", "needs_mapping", "cannot_carry")
_SCHEMA_VERSION = "2"
DEFAULT_LEASE_SECONDS: Final = 60.0
_DEFAULT_MIGRATION = "default"

# One schema for both databases; {serial} and {real} are the only words that differ.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    migration TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (migration, key)
);
CREATE TABLE IF NOT EXISTS entries (
    seq {serial},
    migration TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source_number TEXT,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    category TEXT NOT NULL,
    reason TEXT,
    customer_key TEXT,
    customer_email TEXT,
    customer_name TEXT,
    draft TEXT,
    state TEXT NOT NULL,
    target_id TEXT,
    error TEXT,
    changed INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated {real} NOT NULL,
    UNIQUE (migration, source_id)
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (migration, state, category);
CREATE TABLE IF NOT EXISTS customers (
    migration TEXT NOT NULL, key TEXT NOT NULL, target_id TEXT, state TEXT NOT NULL,
    updated {real} NOT NULL, PRIMARY KEY (migration, key)
);
CREATE TABLE IF NOT EXISTS lease (
    migration TEXT PRIMARY KEY, owner TEXT NOT NULL, expires {real} NOT NULL,
    acquired {real} NOT NULL
);
"""

_TABLES: Final = ("meta", "entries", "customers", "lease")

_COLUMNS = ("seq, source_id, source_number, kind, fingerprint, category, reason, customer_key, "
            "customer_email, customer_name, draft, state, target_id, error, changed, attempts, "
            "updated")


def is_database_url(journal: str | os.PathLike[str]) -> bool:
    """Whether *journal* names a PostgreSQL database (`postgresql://` or `postgres://`)
    rather than a SQLite file."""
    return isinstance(journal, str) and journal.startswith(("postgresql://", "postgres://"))


# ---- storage ------------------------------------------------------------------------------------
class _Store(abc.ABC):
    """One connection to the journal's database. SQL is written once, with `?` for
    parameters; transactions are explicit (`begin`/`commit`/`rollback`), durable or not."""

    serial: str
    real: str

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (`fetchone`, `fetchall`, `rowcount`, iterable)."""

    @abc.abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    @abc.abstractmethod
    def create_schema(self) -> None:
        """Create the tables and index if they do not exist."""

    @abc.abstractmethod
    def begin(self, *, durable: bool) -> None:
        """Start a write transaction (relaxed durability when `durable` is false)."""

    @abc.abstractmethod
    def commit(self, *, durable: bool) -> None:
        """Commit the transaction `begin` started."""

    @abc.abstractmethod
    def rollback(self, *, durable: bool) -> None:
        """Undo the transaction `begin` started."""

    @abc.abstractmethod
    def serialize(self, key: str) -> None:
        """Inside a transaction: wait for any other transaction serialized on *key*."""

    @abc.abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether the database has a table *name*."""

    def now(self) -> float:
        """The time leases are measured by (Unix seconds): this machine's clock for a file;
        the database server's for PostgreSQL, so workers whose clocks differ agree."""
        return time.time()

    @abc.abstractmethod
    def reopen(self) -> _Store:
        """A second connection to the same database (for the lease's renewal thread)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection."""

    @property
    @abc.abstractmethod
    def connection(self) -> Any:
        """The DB-API connection underneath."""

    def statements(self) -> list[str]:
        """The schema's statements in this database's words."""
        return [s.strip().format(serial=self.serial, real=self.real)
                for s in _SCHEMA.split(";") if s.strip()]


class _SQLite(_Store):
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    real = "REAL"

    def __init__(self, path: Path, *, thread_safe: bool = False) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None,
                                  check_same_thread=not thread_safe)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=5000")
        except BaseException:
            self.db.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def create_schema(self) -> None:
        self.db.executescript(";\n".join(self.statements()) + ";")

    def begin(self, *, durable: bool) -> None:
        if not durable:
            self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            if not durable:
                self.db.execute("PRAGMA synchronous=FULL")
            raise

    def commit(self, *, durable: bool) -> None:
        try:
            self.db.execute("COMMIT")
        finally:
            if not durable:
                self.db.execute("PRAGMA synchronous=FULL")

    def rollback(self, *, durable: bool) -> None:
        try:
            self.db.execute("ROLLBACK")
        finally:
            if not durable:
                self.db.execute("PRAGMA synchronous=FULL")

    def serialize(self, key: str) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already excludes every other writer."""

    def has_table(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (name,)).fetchone() is not None

    def reopen(self) -> _Store:
        return _SQLite(self.path, thread_safe=True)

    def close(self) -> None:
        self.db.close()

    @property
    def connection(self) -> Any:
        return self.db


class _Postgres(_Store):
    serial = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    real = "DOUBLE PRECISION"

    def __init__(self, url: str, shown: str) -> None:
        self.url = url
        self.db, self.errors = connect_postgres(
            url, f"the journal {shown!r} is a PostgreSQL database, which",
            f"the journal database {shown!r}", "postgres")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def create_schema(self) -> None:
        self.begin(durable=True)
        try:
            self.serialize("invoicekit journal schema")  # workers starting at once
            for statement in self.statements():
                self.db.execute(statement)
        except BaseException:
            self.rollback(durable=True)
            raise
        self.commit(durable=True)

    def begin(self, *, durable: bool) -> None:
        self.db.execute("BEGIN")
        if not durable:
            self.db.execute("SET LOCAL synchronous_commit = off")

    def commit(self, *, durable: bool) -> None:
        self.db.execute("COMMIT")

    def rollback(self, *, durable: bool) -> None:
        self.db.execute("ROLLBACK")

    def serialize(self, key: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    def now(self) -> float:
        return float(self.execute("SELECT extract(epoch FROM clock_timestamp())"
                                  ).fetchone()[0])

    def has_table(self, name: str) -> bool:
        row = self.execute("SELECT to_regclass(?)", (name,)).fetchone()
        return row is not None and row[0] is not None

    def reopen(self) -> _Store:
        return _Postgres(self.url, "")

    def close(self) -> None:
        self.db.close()

    @property
    def connection(self) -> Any:
        return self.db


def connect_postgres(url: str, needs: str, what: str, extra: str
                     ) -> tuple[Any, tuple[type[BaseException], ...]]:
    """An autocommit psycopg connection to *url* and the errors psycopg raises; a
    `ConfigurationError` (setting `journal`) when psycopg is missing ("*needs* needs
    psycopg: pip install 'invoicekit[*extra*]'") or *what* cannot be opened."""
    try:
        import psycopg
    except ImportError:
        raise errors.ConfigurationError(
            f"{needs} needs psycopg: pip install 'invoicekit[{extra}]'",
            setting="journal") from None
    try:
        return psycopg.connect(url, autocommit=True), (psycopg.Error,)
    except psycopg.Error as exc:
        raise errors.ConfigurationError(f"cannot open {what}: {exc}",
                                        setting="journal") from exc


def _split_url(url: str) -> tuple[str, str, str]:
    """`(connection URL, migration id, URL to show)`: the `migration` query parameter is
    the journal's, not the database's; the shown URL has no password."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    migration = next((v for k, v in query if k == "migration"), _DEFAULT_MIGRATION)
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "migration"])
    connect = urllib.parse.urlunsplit(parts._replace(query=rest))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    shown = urllib.parse.urlunsplit(parts._replace(netloc=netloc, query="", fragment=""))
    return connect, migration or _DEFAULT_MIGRATION, f"{shown}?migration={migration}"


@attrs.frozen(slots=True)
class Entry:
    """One source invoice as the journal knows it."""

    seq: int
    source_id: str
    source_number: str | None
    kind: str
    fingerprint: str
    category: Category
    reason: str | None
    customer_key: str | None
    customer_email: str | None
    customer_name: str | None
    draft: str | None
    state: State
    target_id: str | None
    error: str | None
    changed: bool
    attempts: int
    updated: float = 0.0
    """When the entry last changed (Unix time). For an entry in flight: when its write was
    sent, or when its outcome became unknown (the answer was lost), whichever came last."""


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                 row[9], row[10], row[11], row[12], row[13], bool(row[14]), int(row[15]),
                 float(row[16]))


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _dead_here(owner: str) -> bool:
    """Whether *owner* is a process of this machine that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class Journal:
    """The journal of one migration (`source` -> `target`), in a SQLite file or, given a
    `postgresql://` URL, in a PostgreSQL database (the URL's `migration` parameter names
    the migration; many live side by side in one database).

    Opening it takes the lock (SQLite) and the lease (see the module docs); `close()`
    gives both back. *lease_seconds* is how long the lease outlives a process that stops
    renewing it (a killed process on another machine); a dead process of this machine is
    recognised at once.
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str, target: str,
                 resume: bool, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if (isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float)
                or not 0 < lease_seconds < math.inf):
            raise errors.InvalidRequest(
                f"lease_seconds must be a positive number of seconds, got {lease_seconds!r}")
        self.owner = _owner_id()
        self.lease_seconds = float(lease_seconds)
        self._lock_fd: int | None = None
        self._store: _Store | None = None
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()
        url: str | None = None
        if is_database_url(path):
            url, self.migration, self.location = _split_url(str(path))
            self.path: Path | None = None
        else:
            self.migration = _DEFAULT_MIGRATION
            self.path = Path(path)
            self.location = str(self.path)
            self._lock(self.path)
        db_errors: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)
        try:
            if url is None:
                assert self.path is not None
                self._store = _SQLite(self.path)
            else:
                store = _Postgres(url, self.location)
                db_errors = store.errors
                self._store = store
            self._check_version()
            if not all(self._store.has_table(t) for t in _TABLES):
                # Only when missing: DDL takes table locks, which would make a run wait
                # for a killed run's transaction the database has not closed yet.
                self._store.create_schema()
            self._check_meta(source, target, resume)
            self._take_lease()
        except errors.InvoiceKitError:
            self.close()
            raise
        except db_errors as exc:
            self.close()
            raise errors.ConfigurationError(
                f"{self.location!r} is not a usable migration journal: {exc}",
                setting="journal") from exc
        except BaseException:
            self.close()
            raise
        self._renewer = threading.Thread(target=self._renew_forever, daemon=True,
                                         name=f"journal-lease-{self.migration}")
        self._renewer.start()

    @property
    def store(self) -> _Store:
        """The open storage (`ConfigurationError` once the journal is closed)."""
        if self._store is None:
            raise errors.ConfigurationError(f"the journal {self.location!r} is closed",
                                            setting="journal")
        return self._store

    @property
    def db(self) -> Any:
        """The DB-API connection underneath (a `sqlite3.Connection`, or psycopg's)."""
        return self.store.connection

    # ---- opening -----------------------------------------------------------------------
    def _lock(self, path: Path) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; the lease still guards the journal
            return
        # The resolved path: a symlink to the journal must find the same lock file.
        lock_path = f"{path.resolve()}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise errors.ConfigurationError(
                f"cannot create the journal's lock file {lock_path!r}: {exc.strerror}",
                setting="journal") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise errors.ConfigurationError(
                f"the journal {self.location!r} is in use by another migration on this "
                f"machine (its lock file {lock_path!r} is held)", setting="journal") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _check_version(self) -> None:
        """Refuse a journal another format of which this invoicekit cannot read (checked
        before the schema is touched, so an old file is left as it was)."""
        store = self.store
        if not store.has_table("meta"):
            return  # a new journal
        found = {row[0] for row in store.execute(
            "SELECT value FROM meta WHERE key = 'version'").fetchall()}
        other = sorted(found - {_SCHEMA_VERSION})
        if other:
            raise errors.ConfigurationError(
                f"journal {self.location!r} has format {other[0]!r}; "
                f"this invoicekit writes {_SCHEMA_VERSION!r}", setting="journal")

    def _check_meta(self, source: str, target: str, resume: bool) -> None:
        meta = dict(self.store.execute("SELECT key, value FROM meta WHERE migration = ?",
                                       (self.migration,)).fetchall())
        if not meta:
            with self.transaction() as db:
                db.executemany(
                    "INSERT INTO meta (migration, key, value) VALUES (?, ?, ?)",
                    [(self.migration, k, v) for k, v in (
                        ("version", _SCHEMA_VERSION), ("source", source), ("target", target),
                        ("created", str(time.time())))])
            return
        if meta.get("version") != _SCHEMA_VERSION:
            raise errors.ConfigurationError(
                f"journal {self.location!r} has format {meta.get('version')!r}; "
                f"this invoicekit writes {_SCHEMA_VERSION!r}", setting="journal")
        if (meta.get("source"), meta.get("target")) != (source, target):
            raise errors.ConfigurationError(
                f"journal {self.location!r} belongs to the migration {meta.get('source')} -> "
                f"{meta.get('target')}, not {source} -> {target}", setting="journal")
        count = self.count()
        if count and not resume:
            raise errors.ConfigurationError(
                f"journal {self.location!r} already records {count} invoices of this "
                "migration; pass resume=True (--resume) to continue it", setting="journal")

    # ---- the lease ----------------------------------------------------------------------------
    def _take_lease(self) -> None:
        with self.transaction() as db:
            db.serialize(f"invoicekit lease {self.migration}")
            row = db.execute("SELECT owner, expires FROM lease WHERE migration = ?",
                             (self.migration,)).fetchone()
            now = db.now()
            if row is not None and row[0] != self.owner and row[1] > now \
                    and not _dead_here(row[0]):
                raise errors.ConfigurationError(
                    f"the journal {self.location!r} is in use by another migration "
                    f"(lease held by {row[0]} for {row[1] - now:.0f} s more)",
                    setting="journal")
            db.execute(
                "INSERT INTO lease (migration, owner, expires, acquired) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (migration) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires, acquired = excluded.acquired",
                (self.migration, self.owner, now + self.lease_seconds, now))

    def _extend_lease(self, db: _Store) -> None:
        """Extend this run's lease inside the current transaction; a lease another process
        has taken over raises `ConfigurationError` (and the transaction rolls back)."""
        moved = db.execute("UPDATE lease SET expires = ? WHERE migration = ? AND owner = ?",
                           (db.now() + self.lease_seconds, self.migration, self.owner))
        if moved.rowcount != 1:
            raise errors.ConfigurationError(
                f"this run lost the lease on the journal {self.location!r} (another "
                "migration took it over after it expired); stopping before any write",
                setting="journal")

    def renew_lease(self) -> None:
        """Extend the lease by `lease_seconds` from now (the renewal thread does this)."""
        with self.transaction(durable=False) as db:
            self._extend_lease(db)

    def _renew_forever(self) -> None:
        try:
            store = self.store.reopen()  # its own connection, used by this thread only
        except Exception:  # the in-flight marks still check the lease
            return
        try:
            while not self._stop_renewing.wait(self.lease_seconds / 3):
                with contextlib.suppress(Exception):
                    store.execute("UPDATE lease SET expires = ? WHERE migration = ? "
                                  "AND owner = ?",
                                  (store.now() + self.lease_seconds, self.migration,
                                   self.owner))
        finally:
            store.close()

    def _release_lease(self) -> None:
        if self._store is None:
            return
        with contextlib.suppress(Exception):
            self._store.execute("DELETE FROM lease WHERE migration = ? AND owner = ?",
                                (self.migration, self.owner))

    def close(self) -> None:
        """Stop renewing and give back the lease, close the database, release the lock.

        Safe to call more than once, and on a journal that failed half-way through
        opening (every connection it opened is closed)."""
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        self._release_lease()
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.close()
            self._store = None
        self._unlock()

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[_Store]:
        """One transaction: committed durably, or with relaxed durability when `durable` is
        false (bulk planning); rolled back, leaving nothing behind, on any error."""
        store = self.store
        store.begin(durable=durable)
        try:
            yield store
        except BaseException:
            store.rollback(durable=durable)
            raise
        store.commit(durable=durable)

    # ---- entries -------------------------------------------------------------------------------
    def get(self, source_id: str) -> Entry | None:
        """The entry of one source invoice."""
        row = self.store.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE migration = ? AND source_id = ?",  # noqa: S608
            (self.migration, source_id)).fetchone()
        return None if row is None else _entry(row)

    def get_many(self, source_ids: Sequence[str]) -> dict[str, Entry]:
        """Entries of several source invoices, by source id."""
        if not source_ids:
            return {}
        marks = ",".join("?" * len(source_ids))
        rows = self.store.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE migration = ? "  # noqa: S608
            f"AND source_id IN ({marks})", (self.migration, *source_ids)).fetchall()
        return {row[1]: _entry(row) for row in rows}

    def upsert(self, db: _Store, *, source_id: str, source_number: str | None,
               kind: str, fingerprint: str, category: Category, reason: str | None,
               customer_key: str | None, customer_email: str | None,
               customer_name: str | None, draft: str | None, state: State) -> None:
        """Record (or re-record) the plan of an invoice not yet copied. Call in a
        transaction; an entry in flight or done is never re-planned."""
        db.execute(
            "INSERT INTO entries (migration, source_id, source_number, kind, fingerprint, "
            "category, reason, customer_key, customer_email, customer_name, draft, state, "
            "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (migration, source_id) DO UPDATE SET "
            "source_number = excluded.source_number, "
            "kind = excluded.kind, fingerprint = excluded.fingerprint, "
            "category = excluded.category, reason = excluded.reason, "
            "customer_key = excluded.customer_key, customer_email = excluded.customer_email, "
            "customer_name = excluded.customer_name, draft = excluded.draft, "
            "state = excluded.state, updated = excluded.updated "
            "WHERE entries.state NOT IN ('done', 'in_flight')",
            (self.migration, source_id, source_number, kind, fingerprint, category, reason,
             customer_key, customer_email, customer_name, draft, state, time.time()))

    def mark_changed(self, db: _Store, source_id: str, changed: bool) -> None:
        """Flag a copied invoice whose source changed since (it is reported, not rewritten)."""
        db.execute("UPDATE entries SET changed = ? WHERE migration = ? AND source_id = ?",
                   (int(changed), self.migration, source_id))

    def mark_in_flight(self, *writes: tuple[str, str],
                       done: Sequence[tuple[str, str, str | None]] = ()) -> None:
        """Commit, durably, that each `(source id, draft)` write is about to happen.
        Several in one call share one commit (group commit), as do the copies *done*
        (`marks_done`'s `(source id, target id, note)`) recorded in the same commit."""
        now = time.time()
        with self.transaction() as db:
            self._extend_lease(db)  # no write starts under a lease another run holds
            if done:
                self._record_done(db, done, now)
            db.executemany(
                "UPDATE entries SET state = 'in_flight', draft = ?, attempts = attempts + 1, "
                "error = NULL, updated = ? WHERE migration = ? AND source_id = ?",
                [(draft, now, self.migration, source_id) for source_id, draft in writes])

    def mark_done(self, source_id: str, target_id: str, *, note: str | None = None) -> None:
        """Record that the copy exists on the target as *target_id*.

        Committed with relaxed durability: safe from a killed process; should a power cut
        lose it, the entry is still in flight and reconciliation finds the copy by its
        marker.
        """
        self.marks_done((source_id, target_id, note))

    def marks_done(self, *done: tuple[str, str, str | None]) -> None:
        """`mark_done` for several copies, `(source id, target id, note)` each, in one
        commit (the async engine records the copies of a batch together)."""
        with self.transaction(durable=False) as db:
            self._record_done(db, done, time.time())

    def _record_done(self, db: _Store, done: Sequence[tuple[str, str, str | None]],
                     now: float) -> None:
        db.executemany("UPDATE entries SET state = 'done', target_id = ?, error = ?, "
                       "updated = ? WHERE migration = ? AND source_id = ?",
                       [(target_id, note, now, self.migration, source_id)
                        for source_id, target_id, note in done])

    def mark_failed(self, source_id: str, error: str) -> None:
        """The target refused the write (it did not happen): retried on the next run."""
        with self.transaction(durable=False) as db:
            db.execute("UPDATE entries SET state = 'failed', error = ?, updated = ? "
                       "WHERE migration = ? AND source_id = ?",
                       (error, time.time(), self.migration, source_id))

    def mark_unknown(self, source_id: str, error: str) -> None:
        """Keep an entry in flight with the reason its outcome is unknown; `updated` becomes
        the moment the outcome became unknown, from which the settle time is counted."""
        with self.transaction() as db:
            db.execute("UPDATE entries SET error = ?, updated = ? "
                       "WHERE migration = ? AND source_id = ?",
                       (error, time.time(), self.migration, source_id))

    def mark_planned(self, source_id: str, note: str) -> None:
        """Reconciliation proved the write did not happen (no copy on the target, and the
        settle time since its outcome became unknown has passed): plan it again."""
        with self.transaction() as db:
            db.execute("UPDATE entries SET state = 'planned', error = ?, updated = ? "
                       "WHERE migration = ? AND source_id = ? AND state = 'in_flight'",
                       (note, time.time(), self.migration, source_id))

    def entries(self, where: str = "1 = 1", params: Sequence[Any] = (), *, chunk: int = 500
                ) -> Iterator[Entry]:
        """Entries matching *where*, read in chunks by insertion order (memory stays flat).

        Safe to write to the journal while iterating: each chunk is read whole.
        """
        last = 0
        while True:
            rows = self.store.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE migration = ? AND seq > ? "  # noqa: S608
                f"AND ({where}) ORDER BY seq LIMIT ?",
                (self.migration, last, *params, chunk)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = rows[-1][0]

    def count(self, where: str = "1 = 1", params: Sequence[Any] = ()) -> int:
        """How many entries match *where*."""
        row = self.store.execute(
            f"SELECT COUNT(*) FROM entries WHERE migration = ? AND ({where})",  # noqa: S608
            (self.migration, *params)).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        """Entries per state."""
        found: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, n in self.store.execute(
                "SELECT state, COUNT(*) FROM entries WHERE migration = ? GROUP BY state",
                (self.migration,)).fetchall():
            found[state] = int(n)
        return found

    def category_counts(self) -> dict[str, int]:
        """Entries per plan category."""
        found: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        for cat, n in self.store.execute(
                "SELECT category, COUNT(*) FROM entries WHERE migration = ? GROUP BY category",
                (self.migration,)).fetchall():
            found[cat] = int(n)
        return found

    # ---- customers ---------------------------------------------------------------------------
    def customer(self, key: str) -> tuple[str | None, str] | None:
        """`(target id, state)` of a customer created (or being created) by this migration."""
        row = self.store.execute(
            "SELECT target_id, state FROM customers WHERE migration = ? AND key = ?",
            (self.migration, key)).fetchone()
        return None if row is None else (row[0], row[1])

    def customer_in_flight(self, *keys: str) -> None:
        """Record that a customer is about to be created. Several keys share one commit
        (the async engine marks a batch of customers at once)."""
        now = time.time()
        with self.transaction() as db:
            db.executemany("INSERT INTO customers (migration, key, target_id, state, updated) "
                           "VALUES (?, ?, NULL, 'in_flight', ?) ON CONFLICT (migration, key) "
                           "DO UPDATE SET state = 'in_flight', updated = excluded.updated",
                           [(self.migration, key, now) for key in keys])

    def customer_done(self, key: str, target_id: str) -> None:
        """Record the created customer's target id."""
        self.customers_done((key, target_id))

    def customers_done(self, *created: tuple[str, str]) -> None:
        """Record the target ids of several created customers, `(key, target id)` each,
        in one commit."""
        now = time.time()
        with self.transaction() as db:
            db.executemany("UPDATE customers SET target_id = ?, state = 'done', updated = ? "
                           "WHERE migration = ? AND key = ?",
                           [(target_id, now, self.migration, key) for key, target_id in created])

    def customers_in_flight(self) -> list[str]:
        """Customers whose creation was started but not recorded (a crash or unknown outcome)."""
        return [row[0] for row in self.store.execute(
            "SELECT key FROM customers WHERE migration = ? AND state = 'in_flight'",
            (self.migration,)).fetchall()]

    def pending_customers(self) -> Iterator[tuple[str, str, str | None]]:
        """`(key, email, name)` of customers that ready invoices still need created."""
        rows = self.store.execute(
            "SELECT customer_key, MIN(customer_email), MIN(customer_name) FROM entries "
            "WHERE migration = ? AND category = 'ready' AND state IN ('planned', 'failed') "
            "AND customer_key IS NOT NULL AND customer_key NOT IN "
            "(SELECT key FROM customers WHERE migration = ? AND state = 'done') "
            "GROUP BY customer_key ORDER BY customer_key",
            (self.migration, self.migration)).fetchall()
        yield from ((key, email, name) for key, email, name in rows)
