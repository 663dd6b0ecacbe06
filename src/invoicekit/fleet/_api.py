"""What the fleet's command line does, as functions: submit, retry, status, report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from ._board import Board, MerchantStatus
from ._manifest import load_manifest
from ._tasks import make_app, send

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["fleet_report", "retry", "status", "submit"]


def submit(manifest: str | Path, *, broker: str | None = None, app: Celery | None = None,
           merchants: Sequence[str] | None = None) -> list[str]:
    """Queue one task per merchant of *manifest* (or only *merchants*); returns their ids.

    The board records them `queued` first, then the tasks are sent through *app* (or an
    app on *broker*). Each task carries the manifest's path and a merchant id only."""
    loaded = load_manifest(manifest)
    if merchants is None:
        chosen = [m.id for m in loaded.merchants]
    else:
        chosen = [loaded.merchant(m).id for m in merchants]
    celery = app if app is not None else make_app(broker)
    with Board(loaded.database_url()) as board:
        board.queued(chosen)
    send(celery, loaded.path, chosen)
    return chosen


def retry(manifest: str | Path, merchants: Sequence[str], *, broker: str | None = None,
          app: Celery | None = None) -> list[str]:
    """Queue *merchants* again (a failed one after fixing its credentials, an incomplete
    one to reconcile what it left in flight): their journals resume, nothing is written
    twice."""
    if not merchants:
        raise errors.InvalidRequest("name at least one merchant to retry")
    return submit(manifest, broker=broker, app=app, merchants=merchants)


def status(manifest: str | Path) -> list[MerchantStatus]:
    """Every merchant of *manifest* as the journal database knows it."""
    loaded = load_manifest(manifest)
    with Board(loaded.database_url()) as board:
        return list(board.statuses([m.id for m in loaded.merchants]))


def fleet_report(manifest: str | Path) -> dict[str, Any]:
    """The fleet's plan and verification, added up over its merchants' last reports:
    invoices seen, per plan category, written, verified, mismatches and duplicates, the
    reasons invoices were not carried (with how many), and one line per merchant."""
    found = status(manifest)
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for s in found:
        totals["seen"] += s.seen
        totals["done"] += s.done
        totals["needs_mapping"] += s.needs_mapping
        totals["cannot_carry"] += s.cannot_carry
        totals["failed"] += s.failed
        if s.report is None:
            continue
        totals["verified"] += int(s.report.get("verified") or 0)
        totals["mismatches"] += len(s.report.get("mismatches") or [])
        totals["duplicates"] += len(s.report.get("duplicates") or [])
        for entry in s.report.get("not_carried") or []:
            reasons[f"{entry.get('category')}: {entry.get('reason')}"] += 1
    states = Counter(s.state for s in found)
    return {
        "merchants": len(found),
        "states": dict(sorted(states.items())),
        "invoices": {k: totals[k] for k in ("seen", "done", "needs_mapping", "cannot_carry",
                                            "failed", "verified", "mismatches",
                                            "duplicates")},
        "not_carried": [{"reason": r, "count": n} for r, n in reasons.most_common()],
        "per_merchant": [s.to_dict() for s in found],
        "ok": bool(found) and all(s.state == "done" for s in found)
              and totals["mismatches"] == 0 and totals["duplicates"] == 0,
    }
