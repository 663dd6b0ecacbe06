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

A lock file beside the journal keeps two migrations from running on it at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
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
"""

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


class Journal:
    """The SQLite journal of one migration (`source` -> `target`)."""

    def __init__(self, path: str | os.PathLike[str], *, source: str, target: str,
                 resume: bool) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._lock()
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._unlock()
            raise errors.ConfigurationError(
                f"{str(self.path)!r} is not a usable migration journal: {exc}",
                setting="journal") from exc
        try:
            self._check_meta(source, target, resume, existed)
        except errors.InvoiceKitError:
            self.close()
            raise

    # ---- opening -----------------------------------------------------------------------
    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; one run per journal is documented
            return
        lock_path = f"{self.path}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise errors.ConfigurationError(
                f"the journal {str(self.path)!r} is in use by another migration",
                setting="journal") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _check_meta(self, source: str, target: str, resume: bool, existed: bool) -> None:
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            with self.transaction():
                self._db.executemany(
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
        count = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        if existed and count and not resume:
            raise errors.ConfigurationError(
                f"journal {str(self.path)!r} already records {count} invoices of this "
                "migration; pass resume=True (--resume) to continue it", setting="journal")

    def close(self) -> None:
        """Close the database and release the lock."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._db.close()
        self._unlock()

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; `durable=False` commits with `synchronous=NORMAL` (bulk planning)."""
        if not durable:
            self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if not durable:
                self._db.execute("PRAGMA synchronous=FULL")

    # ---- entries -------------------------------------------------------------------------------
    def get(self, source_id: str) -> Entry | None:
        """The entry of one source invoice."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE source_id = ?", (source_id,)).fetchone()  # noqa: S608
        return None if row is None else _entry(row)

    def get_many(self, source_ids: Sequence[str]) -> dict[str, Entry]:
        """Entries of several source invoices, by source id."""
        if not source_ids:
            return {}
        marks = ",".join("?" * len(source_ids))
        rows = self._db.execute(
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
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE seq > ? AND ({where}) "  # noqa: S608
                "ORDER BY seq LIMIT ?", (last, *params, chunk)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = rows[-1][0]

    def count(self, where: str = "1", params: Sequence[Any] = ()) -> int:
        """How many entries match *where*."""
        row = self._db.execute(
            f"SELECT COUNT(*) FROM entries WHERE {where}", tuple(params)).fetchone()  # noqa: S608
        return int(row[0])

    def counts(self) -> dict[str, int]:
        """Entries per state."""
        found: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state"):
            found[state] = n
        return found

    def category_counts(self) -> dict[str, int]:
        """Entries per plan category."""
        found: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        for cat, n in self._db.execute(
                "SELECT category, COUNT(*) FROM entries GROUP BY category"):
            found[cat] = n
        return found

    # ---- customers ---------------------------------------------------------------------------
    def customer(self, key: str) -> tuple[str | None, str] | None:
        """`(target id, state)` of a customer created (or being created) by this migration."""
        row = self._db.execute(
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
        return [row[0] for row in self._db.execute(
            "SELECT key FROM customers WHERE state = 'in_flight'")]

    def pending_customers(self) -> Iterator[tuple[str, str, str | None]]:
        """`(key, email, name)` of customers that ready invoices still need created."""
        rows = self._db.execute(
            "SELECT customer_key, MIN(customer_email), MIN(customer_name) FROM entries "
            "WHERE category = 'ready' AND state IN ('planned', 'failed') "
            "AND customer_key IS NOT NULL AND customer_key NOT IN "
            "(SELECT key FROM customers WHERE state = 'done') "
            "GROUP BY customer_key ORDER BY customer_key").fetchall()
        yield from ((key, email, name) for key, email, name in rows)
