"""The Celery side of the fleet: the app factory and the one task, migrating one merchant.

The task is `acks_late` and `reject_on_worker_lost`: its message leaves the broker only
once the merchant's run has ended, so a worker that dies mid-run (SIGKILL, a lost machine)
leaves it to be delivered again (with Redis, once the `visibility_timeout` has passed).
Delivering it twice is safe: the journal's lease keeps two workers off one merchant (a
task that finds the lease held by a live worker is retried later, not failed) and its
exactly-once rules make a second run write nothing that was already written.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from .. import errors
from .._registry import from_config
from ..migration._engine import migrate
from ._board import Board
from ._manifest import load_manifest

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["BROKER_ENV", "TASK_NAME", "Outcome", "make_app", "run_merchant"]

TASK_NAME: Final = "invoicekit.fleet.migrate_merchant"
BROKER_ENV: Final = "INVOICEKIT_FLEET_BROKER"
BACKEND_ENV: Final = "INVOICEKIT_FLEET_BACKEND"
VISIBILITY_ENV: Final = "INVOICEKIT_FLEET_VISIBILITY_TIMEOUT"
DEFAULT_VISIBILITY_TIMEOUT: Final = 3600.0
_RETRY_MAX: Final = 30.0
log = logging.getLogger("invoicekit.fleet")


@attrs.frozen(slots=True)
class Outcome:
    """How one task's run for a merchant ended: `state` as the board records it, and
    `retry_after` seconds when the merchant's lease was held by a live worker."""

    merchant: str
    state: str
    error: str | None = None
    retry_after: float | None = None


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_merchant(manifest_path: str, merchant_id: str) -> Outcome:
    """Migrate (or resume) *merchant_id* of the manifest at *manifest_path*, recording its
    state on the board; what a task does, without Celery.

    Credentials are read from this process's environment (the manifest's `${ENV}`
    references). A merchant whose run fails (wrong credentials, a provider refusing) is
    recorded `failed` with the error; only a lease held by another live worker asks for a
    retry. A manifest that cannot be read raises `ConfigurationError` (there is no board
    to record it on)."""
    manifest = load_manifest(manifest_path)
    with Board(manifest.database_url()) as board:
        holder = board.lease_holder(merchant_id)
        if holder is not None:
            return _wait(board, manifest.lease_seconds, merchant_id, holder)
        try:
            merchant = manifest.merchant(merchant_id)
        except errors.ConfigurationError as exc:
            board.started(merchant_id, _worker_id())
            board.finished(merchant_id, "failed", None, _error_line(exc))
            return Outcome(merchant_id, "failed", _error_line(exc))
        board.started(merchant_id, _worker_id())
        log.info("migrating merchant %s", merchant_id)
        try:
            with from_config(merchant.source) as source, from_config(merchant.target) as target:
                report = migrate(source, target, journal=manifest.journal_url(merchant_id),
                                 policy=manifest.policy(merchant), resume=True, verify=True,
                                 settle=manifest.settle, lease_seconds=manifest.lease_seconds)
        except errors.InvoiceKitError as exc:
            holder = board.lease_holder(merchant_id)
            if isinstance(exc, errors.ConfigurationError) and holder is not None:
                return _wait(board, manifest.lease_seconds, merchant_id, holder)
            board.finished(merchant_id, "failed", None, _error_line(exc))
            log.warning("merchant %s failed: %s", merchant_id, _error_line(exc))
            return Outcome(merchant_id, "failed", _error_line(exc))
        except Exception as exc:  # a bug or a lost database: recorded, then Celery's
            board.finished(merchant_id, "failed", None, f"unexpected {_error_line(exc)}")
            raise
        data = report.to_dict()
        if report.ok:
            board.finished(merchant_id, "done", data, None)
            return Outcome(merchant_id, "done")
        problems = [f"{len(report.failures)} failed" if report.failures else "",
                    f"{len(report.in_flight)} in flight" if report.in_flight else "",
                    f"{len(report.mismatches)} mismatched" if report.mismatches else "",
                    f"{len(report.duplicates)} duplicated" if report.duplicates else ""]
        summary = ", ".join(p for p in problems if p)
        if report.failures:
            summary += f"; first: {report.failures[0][1]}"
        board.finished(merchant_id, "incomplete", data, summary)
        return Outcome(merchant_id, "incomplete", summary)


def _wait(board: Board, lease_seconds: float, merchant: str, holder: str) -> Outcome:
    why = f"lease held by {holder}; retried later"
    board.waiting(merchant, why)
    return Outcome(merchant, "waiting", why, retry_after=min(lease_seconds, _RETRY_MAX))


def _migrate_merchant(task: Any, manifest: str, merchant: str) -> str:
    """The task: migrate one merchant (see `run_merchant`); the message carries the
    manifest's path and the merchant id only, never a setting or a secret."""
    outcome = run_merchant(manifest, merchant)
    if outcome.retry_after is not None:
        raise task.retry(countdown=outcome.retry_after, max_retries=None)
    return outcome.state


def make_app(broker: str | None = None, backend: str | None = None, *,
             visibility_timeout: float | None = None) -> Celery:
    """A Celery app with the fleet's task, its broker (and optional result backend) given
    by URL (`redis://host:6379/0`) or by `INVOICEKIT_FLEET_BROKER` / `..._BACKEND`.

    *visibility_timeout* (Redis: seconds before an unacknowledged task, a dead worker's,
    is delivered again; `INVOICEKIT_FLEET_VISIBILITY_TIMEOUT`, default an hour) bounds how
    long a dead worker's merchants wait. Results are not stored unless a backend is given:
    the fleet's state is in the journal database."""
    try:
        from celery import Celery
    except ImportError:
        raise errors.ConfigurationError(
            "the fleet needs Celery: pip install 'invoicekit[fleet]'") from None
    broker = broker or os.environ.get(BROKER_ENV)
    if not broker:
        raise errors.ConfigurationError(
            f"no broker: pass --broker URL or set {BROKER_ENV} (e.g. redis://localhost:6379/0)",
            setting="broker")
    backend = backend or os.environ.get(BACKEND_ENV) or None
    if visibility_timeout is None:
        raw = os.environ.get(VISIBILITY_ENV, str(DEFAULT_VISIBILITY_TIMEOUT))
        try:
            visibility_timeout = float(raw)
        except ValueError:
            raise errors.ConfigurationError(
                f"{VISIBILITY_ENV} must be a number of seconds, got {raw!r}",
                setting="visibility_timeout") from None
    if not visibility_timeout > 0:
        raise errors.ConfigurationError(
            f"visibility_timeout must be a positive number of seconds, got {visibility_timeout!r}",
            setting="visibility_timeout")
    app = Celery("invoicekit.fleet", broker=broker, backend=backend, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=backend is None,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # Unacknowledged tasks are looked for every few seconds (a tenth of the timeout,
        # at most 10 s), so a dead worker's task is back soon after the timeout passes.
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": max(1, min(10, round(visibility_timeout / 10))),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)(_migrate_merchant)
    return app


def send(app: Celery, manifest: Path, merchants: list[str]) -> None:
    """Send one task per merchant (the manifest's resolved path and the merchant id)."""
    from kombu.exceptions import OperationalError

    try:
        for merchant in merchants:
            app.send_task(TASK_NAME, args=(str(manifest), merchant))
    except OperationalError as exc:  # the URL is not shown: it may hold a password
        raise errors.ConfigurationError(
            f"cannot send the fleet's tasks to the broker: {exc}", setting="broker") from exc
