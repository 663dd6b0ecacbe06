"""The migration journal: one SQLite file that makes a migration exactly-once and resumable.

Per source invoice it records the content fingerprint, the plan category and reason,
the draft to write, the state (`planned`, `in_flight`, `done`, `skipped`, `failed`),
the target id and the last error. The file uses WAL; the two transitions that decide
exactly-once (`in_flight` before a write, `done` after it) are committed with
`synchronous=FULL` (the async engine groups the in-flight marks of concurrent writes into
one commit), so a write is never started without a record that survives a power cut.
Everything else is committed with `synchronous=NORMAL`, which WAL keeps safe from a
killed process: after a power cut a lost plan batch is planned again, and a lost `done`
leaves the entry in flight, where reconciliation finds the copy by its marker.

Two guards keep two migrations from running on one journal at once, whatever path
names it (a symlink, a hard link, another mount):

* a lock file beside the journal's *resolved* path, held with `flock` while the journal
  is open (a second process on the same machine is refused at once);
* a **lease** row in the journal database itself: the owner (host, process id and a
  random part), and when it expires. It is renewed while the journal is open (a thread
  renews it every third of its lifetime) and every in-flight mark checks, in its own
  transaction, that this run still holds it, so no write ever starts under a lease
  another process has taken over. A live lease of another owner refuses the run; an
  expired one, or one whose owner is a dead process of this machine, is taken over.
  The fleet (several machines sharing journals) relies on the lease, not on the file lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from .. import errors

__all__ = ["CATEGORIES", "STATES", "Category", "Entry", "Journal", "State"]

State = Literal["planned", "in_flight", "done", "skipped", "failed"]
Category = Literal["ready", "needs_mapping", "cannot_carry"]
STATES: Final[tuple[State, ...]] = ("planned", "in_flight", "done", "skipped", "failed")
CATEGORIES: Final[tuple[Category, ...]] = ("ready", "needs_mapping", "cannot_carry")
_SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL UNIQUE,
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
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state, category);
CREATE TABLE IF NOT EXISTS customers (
    key TEXT PRIMARY KEY, target_id TEXT, state TEXT NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lease (
    migration TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL,
    acquired REAL NOT NULL
);
"""
_MIGRATION = "default"
"""The lease's key: one migration per SQLite journal file."""
DEFAULT_LEASE_SECONDS: Final = 60.0

_COLUMNS = ("seq, source_id, source_number, kind, fingerprint, category, reason, customer_key, "
            "customer_email, customer_name, draft, state, target_id, error, changed, attempts, "
            "updated")


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
    """The SQLite journal of one migration (`source` -> `target`).

    Opening it takes the file lock and the lease (see the module docs); `close()` gives
    both back. *lease_seconds* is how long the lease outlives a process that stops
    renewing it (a killed process on another machine); a dead process of this machine
    is recognised at once.
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str, target: str,
                 resume: bool, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.owner = _owner_id()
        self.lease_seconds = float(lease_seconds)
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()
        self._lock()
        try:
            existed = self.path.exists() and self.path.stat().st_size > 0
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.executescript(_SCHEMA)
            self._check_meta(source, target, resume, existed)
            self._take_lease()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise errors.ConfigurationError(
                f"{str(self.path)!r} is not a usable migration journal: {exc}",
                setting="journal") from exc
        except BaseException:
            self.close()
            raise
        self._renewer = threading.Thread(target=self._renew_forever, daemon=True,
                                         name=f"journal-lease-{self.path.name}")
        self._renewer.start()

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection (`ConfigurationError` once the journal is closed)."""
        if self._db is None:
            raise errors.ConfigurationError(f"the journal {str(self.path)!r} is closed",
                                            setting="journal")
        return self._db

    # ---- opening -----------------------------------------------------------------------
    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; the lease still guards the journal
            return
        # The resolved path: a symlink to the journal must find the same lock file.
        lock_path = f"{self.path.resolve()}.lock"
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
                f"the journal {str(self.path)!r} is in use by another migration on this "
                f"machine (its lock file {lock_path!r} is held)", setting="journal") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _check_meta(self, source: str, target: str, resume: bool, existed: bool) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            with self.transaction():
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("version", _SCHEMA_VERSION), ("source", source), ("target", target),
                     ("created", str(time.time()))])
            return
        if meta.get("version") != _SCHEMA_VERSION:
            raise errors.ConfigurationError(
                f"journal {str(self.path)!r} has format {meta.get('version')!r}; "
                f"this invoicekit writes {_SCHEMA_VERSION!r}", setting="journal")
        if (meta.get("source"), meta.get("target")) != (source, target):
            raise errors.ConfigurationError(
                f"journal {str(self.path)!r} belongs to the migration {meta.get('source')} -> "
                f"{meta.get('target')}, not {source} -> {target}", setting="journal")
        count = self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        if existed and count and not resume:
            raise errors.ConfigurationError(
                f"journal {str(self.path)!r} already records {count} invoices of this "
                "migration; pass resume=True (--resume) to continue it", setting="journal")

    # ---- the lease ----------------------------------------------------------------------------
    def _take_lease(self) -> None:
        db = self.db
        with self.transaction():
            row = db.execute("SELECT owner, expires FROM lease WHERE migration = ?",
                             (_MIGRATION,)).fetchone()
            now = time.time()
            if row is not None and row[0] != self.owner and row[1] > now \
                    and not _dead_here(row[0]):
                raise errors.ConfigurationError(
                    f"the journal {str(self.path)!r} is in use by another migration "
                    f"(lease held by {row[0]} for {row[1] - now:.0f} s more)",
                    setting="journal")
            db.execute(
                "INSERT INTO lease (migration, owner, expires, acquired) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (migration) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires, acquired = excluded.acquired",
                (_MIGRATION, self.owner, now + self.lease_seconds, now))

    def _extend_lease(self, db: sqlite3.Connection) -> None:
        """Extend this run's lease inside the current transaction; a lease another process
        has taken over raises `ConfigurationError` (and the transaction rolls back)."""
        moved = db.execute("UPDATE lease SET expires = ? WHERE migration = ? AND owner = ?",
                           (time.time() + self.lease_seconds, _MIGRATION, self.owner))
        if moved.rowcount != 1:
            raise errors.ConfigurationError(
                f"this run lost the lease on the journal {str(self.path)!r} (another "
                "migration took it over after it expired); stopping before any write",
                setting="journal")

    def renew_lease(self) -> None:
        """Extend the lease by `lease_seconds` from now (the renewal thread calls this)."""
        with self.transaction(durable=False) as db:
            self._extend_lease(db)

    def _renew_forever(self) -> None:
        # Its own connection: sqlite3 connections are not shared between threads here.
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA synchronous=NORMAL")
            while not self._stop_renewing.wait(self.lease_seconds / 3):
                with contextlib.suppress(sqlite3.Error):
                    db.execute("UPDATE lease SET expires = ? WHERE migration = ? "
                               "AND owner = ?",
                               (time.time() + self.lease_seconds, _MIGRATION, self.owner))
        finally:
            db.close()

    def _release_lease(self) -> None:
        if self._db is None:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("DELETE FROM lease WHERE migration = ? AND owner = ?",
                             (_MIGRATION, self.owner))

    def close(self) -> None:
        """Stop renewing and give back the lease, close the database, release the lock.

        Safe to call more than once, and on a journal that failed half-way through
        opening (every connection it opened is closed)."""
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        self._release_lease()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._unlock()

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; `durable=False` commits with `synchronous=NORMAL` (bulk planning)."""
        db = self.db
        if not durable:
            db.execute("PRAGMA synchronous=NORMAL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            if not durable:
                db.execute("PRAGMA synchronous=FULL")

    # ---- entries -------------------------------------------------------------------------------
    def get(self, source_id: str) -> Entry | None:
        """The entry of one source invoice."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE source_id = ?", (source_id,)).fetchone()  # noqa: S608
        return None if row is None else _entry(row)

    def get_many(self, source_ids: Sequence[str]) -> dict[str, Entry]:
        """Entries of several source invoices, by source id."""
        if not source_ids:
            return {}
        marks = ",".join("?" * len(source_ids))
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE source_id IN ({marks})",  # noqa: S608
            tuple(source_ids)).fetchall()
        return {row[1]: _entry(row) for row in rows}

    def upsert(self, db: sqlite3.Connection, *, source_id: str, source_number: str | None,
               kind: str, fingerprint: str, category: Category, reason: str | None,
               customer_key: str | None, customer_email: str | None,
               customer_name: str | None, draft: str | None, state: State) -> None:
        """Record (or re-record) the plan of an invoice not yet copied. Call in a transaction."""
        db.execute(
            "INSERT INTO entries (source_id, source_number, kind, fingerprint, category, "
            "reason, customer_key, customer_email, customer_name, draft, state, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source_id) DO UPDATE SET source_number = excluded.source_number, "
            "kind = excluded.kind, fingerprint = excluded.fingerprint, "
            "category = excluded.category, reason = excluded.reason, "
            "customer_key = excluded.customer_key, customer_email = excluded.customer_email, "
            "customer_name = excluded.customer_name, draft = excluded.draft, "
            "state = excluded.state, updated = excluded.updated "
            "WHERE entries.state NOT IN ('done', 'in_flight')",
            (source_id, source_number, kind, fingerprint, category, reason, customer_key,
             customer_email, customer_name, draft, state, time.time()))

    def mark_changed(self, db: sqlite3.Connection, source_id: str, changed: bool) -> None:
        """Flag a copied invoice whose source changed since (it is reported, not rewritten)."""
        db.execute("UPDATE entries SET changed = ? WHERE source_id = ?",
                   (int(changed), source_id))

    def mark_in_flight(self, *writes: tuple[str, str]) -> None:
        """Commit, durably (`synchronous=FULL`), that each `(source id, draft)` write is
        about to happen. Several in one call share one commit (group commit)."""
        now = time.time()
        with self.transaction() as db:
            self._extend_lease(db)  # no write starts under a lease another run holds
            db.executemany(
                "UPDATE entries SET state = 'in_flight', draft = ?, attempts = attempts + 1, "
                "error = NULL, updated = ? WHERE source_id = ?",
                [(draft, now, source_id) for source_id, draft in writes])

    def mark_done(self, source_id: str, target_id: str, *, note: str | None = None) -> None:
        """Record that the copy exists on the target as *target_id*.

        Committed with `synchronous=NORMAL`: safe from a killed process; should a power cut
        lose it, the entry is still in flight and reconciliation finds the copy by its marker.
        """
        with self.transaction(durable=False) as db:
            db.execute("UPDATE entries SET state = 'done', target_id = ?, error = ?, "
                       "updated = ? WHERE source_id = ?", (target_id, note, time.time(), source_id))

    def mark_failed(self, source_id: str, error: str) -> None:
        """The target refused the write (it did not happen): retried on the next run."""
        with self.transaction(durable=False) as db:
            db.execute("UPDATE entries SET state = 'failed', error = ?, updated = ? "
                       "WHERE source_id = ?", (error, time.time(), source_id))

    def mark_unknown(self, source_id: str, error: str) -> None:
        """Keep an entry in flight with the reason its outcome is unknown; `updated` becomes
        the moment the outcome became unknown, from which the settle time is counted."""
        with self.transaction() as db:
            db.execute("UPDATE entries SET error = ?, updated = ? WHERE source_id = ?",
                       (error, time.time(), source_id))

    def mark_planned(self, source_id: str, note: str) -> None:
        """Reconciliation proved the write did not happen (no copy on the target, and the
        settle time since its outcome became unknown has passed): plan it again."""
        with self.transaction() as db:
            db.execute("UPDATE entries SET state = 'planned', error = ?, updated = ? "
                       "WHERE source_id = ? AND state = 'in_flight'",
                       (note, time.time(), source_id))

    def entries(self, where: str = "1", params: Sequence[Any] = (), *, chunk: int = 500
                ) -> Iterator[Entry]:
        """Entries matching *where*, read in chunks by insertion order (memory stays flat).

        Safe to write to the journal while iterating: each chunk is read whole.
        """
        last = 0
        while True:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE seq > ? AND ({where}) "  # noqa: S608
                "ORDER BY seq LIMIT ?", (last, *params, chunk)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = rows[-1][0]

    def count(self, where: str = "1", params: Sequence[Any] = ()) -> int:
        """How many entries match *where*."""
        row = self.db.execute(
            f"SELECT COUNT(*) FROM entries WHERE {where}", tuple(params)).fetchone()  # noqa: S608
        return int(row[0])

    def counts(self) -> dict[str, int]:
        """Entries per state."""
        found: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state"):
            found[state] = n
        return found

    def category_counts(self) -> dict[str, int]:
        """Entries per plan category."""
        found: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        for cat, n in self.db.execute(
                "SELECT category, COUNT(*) FROM entries GROUP BY category"):
            found[cat] = n
        return found

    # ---- customers ---------------------------------------------------------------------------
    def customer(self, key: str) -> tuple[str | None, str] | None:
        """`(target id, state)` of a customer created (or being created) by this migration."""
        row = self.db.execute(
            "SELECT target_id, state FROM customers WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    def customer_in_flight(self, key: str) -> None:
        """Record that a customer is about to be created."""
        with self.transaction() as db:
            db.execute("INSERT INTO customers (key, target_id, state, updated) "
                       "VALUES (?, NULL, 'in_flight', ?) ON CONFLICT (key) DO UPDATE SET "
                       "state = 'in_flight', updated = excluded.updated", (key, time.time()))

    def customer_done(self, key: str, target_id: str) -> None:
        """Record the created customer's target id."""
        with self.transaction() as db:
            db.execute("UPDATE customers SET target_id = ?, state = 'done', updated = ? "
                       "WHERE key = ?", (target_id, time.time(), key))

    def customers_in_flight(self) -> list[str]:
        """Customers whose creation was started but not recorded (a crash or unknown outcome)."""
        return [row[0] for row in self.db.execute(
            "SELECT key FROM customers WHERE state = 'in_flight'")]

    def pending_customers(self) -> Iterator[tuple[str, str, str | None]]:
        """`(key, email, name)` of customers that ready invoices still need created."""
        rows = self.db.execute(
            "SELECT customer_key, MIN(customer_email), MIN(customer_name) FROM entries "
            "WHERE category = 'ready' AND state IN ('planned', 'failed') "
            "AND customer_key IS NOT NULL AND customer_key NOT IN "
            "(SELECT key FROM customers WHERE state = 'done') "
            "GROUP BY customer_key ORDER BY customer_key").fetchall()
        yield from ((key, email, name) for key, email, name in rows)
