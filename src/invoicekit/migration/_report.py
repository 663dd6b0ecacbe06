"""What a migration run tells its user: the plan's verdicts, progress, and the final report."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._draft import Mismatch

__all__ = ["MigrationReport", "PlanEntry", "Progress"]

_SHOWN = 10
"""Invoices named per reason in the text report; the plan file (JSON lines) has them all."""
_IDS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                  r"|\b[A-Za-z_-]*\d[\w-]*")
"""Ids and numbers inside a reason (`invoice:1100000012`, `F-00012`, UUIDs)."""


@attrs.frozen(slots=True)
class PlanEntry:
    """The plan's verdict on one source invoice.

    `category` is `ready`, `needs_mapping` or `cannot_carry`; `reason` says why an invoice
    is not ready, in the target's own words where the target refused the draft; `actions`
    lists what the copy will do besides creating the invoice (convert a currency, create a
    customer); `state` is the journal state after planning.
    """

    source_id: str
    number: str | None
    kind: str
    category: str
    reason: str | None = None
    actions: tuple[str, ...] = ()
    state: str = "planned"
    target_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the plan file has one per line)."""
        return attrs.asdict(self, recurse=False) | {"actions": list(self.actions)}


@attrs.frozen(slots=True)
class Progress:
    """A progress tick: `phase` (`reconcile`, `plan`, `customers`, `copy`, `verify`), how many
    items are `done` in it, the `total` when known, and `failed` so far."""

    phase: str
    done: int
    total: int | None = None
    failed: int = 0


@attrs.frozen(slots=True)
class MigrationReport:
    """The outcome of `migrate()`: counts, every invoice not carried and why, every problem.

    `states` counts journal entries per state over the whole migration (all runs);
    `categories` per plan verdict. `written` counts copies created by this run only, so
    re-running a finished migration reports `written == 0`. `ok` is true when nothing
    failed, nothing is left in flight and verification (if asked) found no mismatch.

    `in_flight` lists writes whose outcome is still unknown: not found on the target
    within the settle time, they are neither counted as written nor written again by this
    run; the next run looks for them first. `duplicates` lists source invoices found more
    than once on the target (by reconciliation, or by verification's scan of the target),
    and `duplicate_copies` their target ids, for a person to void the extra ones.
    """

    source: str
    target: str
    journal: str
    plan_only: bool
    seen: int
    categories: Mapping[str, int]
    states: Mapping[str, int]
    written: int = 0
    reconciled: int = 0
    customers_created: int = 0
    not_carried: tuple[PlanEntry, ...] = ()
    changed: tuple[str, ...] = ()
    failures: tuple[tuple[str, str], ...] = ()
    in_flight: tuple[str, ...] = ()
    verified: int | None = None
    mismatches: tuple[Mismatch, ...] = ()
    duplicates: tuple[str, ...] = ()
    elapsed: float = 0.0
    duplicate_copies: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing failed, nothing is in flight, no mismatch or duplicate was found."""
        return not (self.failures or self.in_flight or self.mismatches or self.duplicates)

    @property
    def nothing_to_copy(self) -> bool:
        """No invoice is ready (nor copied by any run) while some need a mapping or cannot
        be carried: the migration copies nothing, so the CLI reports it as not OK."""
        cats = self.categories
        blocked = cats.get("needs_mapping", 0) + cats.get("cannot_carry", 0)
        return not cats.get("ready", 0) and not self.states.get("done", 0) and blocked > 0

    @property
    def rate(self) -> float:
        """Invoices written per second by this run."""
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        return {
            "source": self.source, "target": self.target, "journal": self.journal,
            "plan_only": self.plan_only, "ok": self.ok,
            "nothing_to_copy": self.nothing_to_copy, "seen": self.seen,
            "categories": dict(self.categories), "states": dict(self.states),
            "written": self.written, "reconciled": self.reconciled,
            "customers_created": self.customers_created,
            "not_carried": [e.to_dict() for e in self.not_carried],
            "changed_since_copied": list(self.changed),
            "failures": [{"source_id": s, "error": e} for s, e in self.failures],
            "in_flight": list(self.in_flight),
            "verified": self.verified,
            "mismatches": [attrs.asdict(m) for m in self.mismatches],
            "duplicates": list(self.duplicates),
            "duplicate_copies": {s: list(ids) for s, ids in self.duplicate_copies.items()},
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def render(self) -> str:
        """The report as text a person reads (the CLI's default output)."""
        title = "Migration plan" if self.plan_only else "Migration"
        cats, states = self.categories, self.states
        lines = [
            f"{title}: {self.source} -> {self.target} (journal {self.journal})",
            f"  source invoices seen this run: {self.seen}",
            f"  plan: {cats.get('ready', 0)} ready, {cats.get('needs_mapping', 0)} need a "
            f"mapping, {cats.get('cannot_carry', 0)} cannot be carried",
            "  journal: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in states.items()),
        ]
        if not self.plan_only:
            lines.append(f"  written this run: {self.written} ({self.rate:.1f}/s), reconciled "
                         f"after an unknown outcome: {self.reconciled}, customers created: "
                         f"{self.customers_created}")
        if self.not_carried:
            # One line per distinct reason, then the invoices it applies to: thirty
            # invoices refused for the same reason are one reason, not thirty.
            # Reasons that differ only in the ids and numbers they name are one reason.
            groups: dict[tuple[str, str, str], list[PlanEntry]] = {}
            for e in self.not_carried:
                shape = _IDS.sub("#", e.reason or "")
                groups.setdefault((e.category, e.kind, shape), []).append(e)
            lines.append(f"Not carried ({len(self.not_carried)}):")
            for (category, kind, _), entries in groups.items():
                verdict = "needs mapping" if category == "needs_mapping" else "cannot carry"
                lines.append(f"  - [{kind}] {verdict}: {entries[0].reason}")
                labels = [e.source_id + (f" (no. {e.number})" if e.number else "")
                          for e in entries[:_SHOWN]]
                more = len(entries) - _SHOWN
                own = len({e.reason for e in entries}) > 1
                lines.append(f"      {len(entries)} invoice{'s' if len(entries) > 1 else ''}"
                             + (" (each with its own ids)" if own else "") + ": "
                             + ", ".join(labels)
                             + (f" and {more} more (the plan file lists each)" if more > 0
                                else ""))
        if self.changed:
            lines.append(f"Changed at the source since copied, not overwritten "
                         f"({len(self.changed)}): {', '.join(self.changed)}")
        if self.failures:
            lines.append(f"Failed ({len(self.failures)}; retried on the next run):")
            lines.extend(f"  - {s}: {e}" for s, e in self.failures)
        if self.in_flight:
            lines.append(f"Outcome unknown, not found on the target yet; looked for first by "
                         f"the next run, never written twice ({len(self.in_flight)}): "
                         + ", ".join(self.in_flight))
        if self.duplicates:
            lines.append(f"More than one copy found on the target ({len(self.duplicates)}):")
            lines.extend(
                f"  - {s}: " + (", ".join(self.duplicate_copies[s])
                                if self.duplicate_copies.get(s) else "copies not listed")
                for s in self.duplicates)
        if self.verified is not None:
            lines.append(f"Verified {self.verified} copies: "
                         + (f"{len(self.mismatches)} mismatches" if self.mismatches
                            else "no mismatch"))
            lines.extend(f"  - {m}" for m in self.mismatches)
        if self.nothing_to_copy:
            lines.append("NOT OK: nothing is ready to copy; give the mappings or policy "
                         "named above and plan again")
        else:
            lines.append("OK" if self.ok else "NOT OK: see above")
        return "\n".join(lines)
