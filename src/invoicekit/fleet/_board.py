"""The fleet's status board: one row per merchant in the journal database.

The journal database is the source of truth of a fleet: beside the journals (the
`entries`, `customers` and `lease` tables, keyed by migration id = merchant id) it holds
`fleet_merchants`, written by `submit`, `retry` and the workers: each merchant's state
(`queued`, `running`, `waiting` for a lease another worker holds, `done`, `incomplete`,
`failed`), the worker running it, when it started and finished, its last error and its
last report. Celery's result backend is never read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs

from ..migration._journal import _dead_here, _split_url, connect_postgres

__all__ = ["STATES", "Board", "MerchantStatus"]

STATES: Final = ("queued", "running", "waiting", "done", "incomplete", "failed")

_DDL: Final = """
CREATE TABLE IF NOT EXISTS fleet_merchants (
    migration TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    submitted DOUBLE PRECISION,
    started DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    worker TEXT,
    error TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    report TEXT,
    updated DOUBLE PRECISION NOT NULL
)
"""
_NOW: Final = "extract(epoch FROM clock_timestamp())"


@attrs.frozen(slots=True)
class MerchantStatus:
    """What the journal database says about one merchant.

    `seen`, `done`, `needs_mapping`, `cannot_carry` and `failed` count its journal's
    invoices; `rate` is invoices copied per minute over its last run (`None` before one
    finished copying anything). `state` is `not submitted` for a merchant of the manifest
    the board has never seen, and `stalled` for one whose worker stopped renewing its lease
    (a dead worker: the broker redelivers its task, see `docs/fleet.md`)."""

    merchant: str
    state: str
    seen: int = 0
    done: int = 0
    needs_mapping: int = 0
    cannot_carry: int = 0
    failed: int = 0
    error: str | None = None
    rate: float | None = None
    worker: str | None = None
    runs: int = 0
    report: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without the stored report)."""
        data = attrs.asdict(self)
        data.pop("report")
        if self.rate is not None:
            data["rate"] = round(self.rate, 1)
        return data


class Board:
    """The `fleet_merchants` table of the journal database at *url* (a PostgreSQL URL;
    a `migration` parameter in it is ignored)."""

    def __init__(self, url: str) -> None:
        connect, _, self.shown = _split_url(url)
        self.shown = self.shown.partition("?")[0]
        self.db, _ = connect_postgres(connect, "the fleet",
                                      f"the fleet's journal database {self.shown!r}", "fleet")
        try:
            if not self._has("fleet_merchants"):
                with self.db.transaction():
                    self.db.execute("SELECT pg_advisory_xact_lock(hashtext('invoicekit fleet'))")
                    self.db.execute(_DDL)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has(self, table: str) -> bool:
        row = self.db.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        return row is not None and row[0] is not None

    def queued(self, merchants: Sequence[str]) -> None:
        """Record that tasks for *merchants* were sent (their last error cleared)."""
        with self.db.transaction():
            for merchant in merchants:
                self.db.execute(
                    "INSERT INTO fleet_merchants (migration, state, submitted, updated) "
                    "VALUES (%s, 'queued', extract(epoch FROM clock_timestamp()), "
                    "extract(epoch FROM clock_timestamp())) ON CONFLICT (migration) DO UPDATE "
                    "SET state = 'queued', error = NULL, submitted = excluded.submitted, "
                    "updated = excluded.updated", (merchant,))

    def started(self, merchant: str, worker: str) -> None:
        """A worker starts (or resumes) *merchant*."""
        self.db.execute(
            "INSERT INTO fleet_merchants (migration, state, started, worker, runs, updated) "
            "VALUES (%s, 'running', extract(epoch FROM clock_timestamp()), %s, 1, "
            "extract(epoch FROM clock_timestamp())) ON CONFLICT (migration) DO UPDATE "
            "SET state = 'running', started = excluded.started, worker = excluded.worker, "
            "finished = NULL, error = NULL, runs = fleet_merchants.runs + 1, "
            "updated = excluded.updated", (merchant, worker))

    def waiting(self, merchant: str, why: str) -> None:
        """*merchant*'s lease is held by another live worker; its task comes back later.
        A merchant the board shows running stays so: it *is* running, on the holder."""
        self.db.execute(
            "INSERT INTO fleet_merchants (migration, state, error, updated) "
            "VALUES (%s, 'waiting', %s, extract(epoch FROM clock_timestamp())) "
            "ON CONFLICT (migration) DO UPDATE SET state = excluded.state, "
            "error = excluded.error, updated = excluded.updated "
            "WHERE fleet_merchants.state <> 'running'", (merchant, why))

    def finished(self, merchant: str, state: str, report: dict[str, Any] | None,
                 error: str | None) -> None:
        """*merchant*'s run ended in *state* (`done`, `incomplete` or `failed`)."""
        self.db.execute(
            "UPDATE fleet_merchants SET state = %s, error = %s, "
            "finished = extract(epoch FROM clock_timestamp()), "
            "report = COALESCE(%s, report), updated = extract(epoch FROM clock_timestamp()) "
            "WHERE migration = %s",
            (state, error, None if report is None else json.dumps(report), merchant))

    def lease_holder(self, merchant: str) -> str | None:
        """The owner of *merchant*'s journal lease if a live worker holds it (an expired
        lease, or one of a dead process of this machine, is nobody's)."""
        if not self._has("lease"):
            return None
        row = self.db.execute(
            "SELECT owner, expires > extract(epoch FROM clock_timestamp()) FROM lease "
            "WHERE migration = %s", (merchant,)).fetchone()
        if row is None or not row[1] or _dead_here(str(row[0])):
            return None
        return str(row[0])

    def statuses(self, merchants: Sequence[str]) -> Iterator[MerchantStatus]:
        """The status of each of *merchants*, in that order."""
        rows = {r[0]: r for r in self.db.execute(
            "SELECT migration, state, started, finished, worker, error, runs, report, "
            "extract(epoch FROM clock_timestamp()) FROM fleet_merchants WHERE migration = ANY(%s)",
            (list(merchants),)).fetchall()}
        counts: dict[str, tuple[int, ...]] = {}
        if self._has("entries"):
            for r in self.db.execute(
                    "SELECT migration, COUNT(*), "
                    "COUNT(*) FILTER (WHERE state = 'done'), "
                    "COUNT(*) FILTER (WHERE category = 'needs_mapping'), "
                    "COUNT(*) FILTER (WHERE category = 'cannot_carry'), "
                    "COUNT(*) FILTER (WHERE state = 'failed') "
                    "FROM entries WHERE migration = ANY(%s) GROUP BY migration",
                    (list(merchants),)).fetchall():
                counts[r[0]] = tuple(int(n) for n in r[1:])
        for merchant in merchants:
            seen, done, needs, cannot, failed = counts.get(merchant, (0, 0, 0, 0, 0))
            row = rows.get(merchant)
            if row is None:
                yield MerchantStatus(merchant, "not submitted", seen, done, needs, cannot,
                                     failed)
                continue
            _, state, started, _finished, worker, error, runs, report_text, now = row
            report = json.loads(report_text) if report_text else None
            if state == "running" and self.lease_holder(merchant) is None:
                state = "stalled"
            rate = None
            if report is not None and state != "running":
                elapsed = float(report.get("elapsed_seconds") or 0)
                written = int(report.get("written") or 0)
                rate = written / elapsed * 60 if elapsed > 0 else None
            elif started is not None and state == "running":
                elapsed = float(now) - float(started)
                rate = None if elapsed <= 0 else done / elapsed * 60
            yield MerchantStatus(merchant, str(state), seen, done, needs, cannot, failed,
                                 error, rate, worker, int(runs), report)
