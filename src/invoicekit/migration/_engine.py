"""The migration engine: plan, reconcile, copy, verify; one copy of the logic for sync and async.

Like the providers, the engine is written as generators ("steps") that *yield* the
gateway calls they need (`_Call`, `_Next`) and receive the results. `migrate()` drives
them with sync gateways one at a time; `migrate_async()` drives the same steps with
async gateways, many copies at once under a bound. The journal is touched only from the
driving thread, between calls.

Order of a run: reconcile entries left in flight by an earlier run, plan (stream the
source, classify each invoice, record the plan), create customers the plan needs, copy
(in flight -> write -> done), re-check writes whose outcome is unknown until they are
found or the settle time has passed, copy what an earlier run's unknown outcome proved
missing, then verify (every copy re-read, duplicates looked for on the target).

An unknown outcome is never resolved by "not found yet": a copy absent from the target
counts as never written only once `settle` seconds have passed since its outcome became
unknown, and a write whose answer this run lost is never written again by this run (it
stays in flight, reported, for the next run to reconcile first).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import itertools
import json
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias, TypeVar

import attrs

from .. import errors
from .._gateway import AsyncGateway, Gateway
from .._model import Capability, Customer, Invoice, InvoiceDraft, InvoiceQuery
from ._draft import (
    Mismatch,
    build_draft,
    compare,
    draft_from_json,
    draft_to_json,
    fingerprint,
    marked_ids,
    without_number,
)
from ._draft import marker as make_marker
from ._journal import DEFAULT_LEASE_SECONDS, Category, Entry, Journal, State
from ._policy import MigrationPolicy
from ._report import MigrationReport, PlanEntry, Progress

__all__ = ["migrate", "migrate_async"]

T = TypeVar("T")
log = logging.getLogger("invoicekit.migration")
ProgressCallback: TypeAlias = Callable[[Progress], None]
_PLAN_BATCH = 200
DEFAULT_SETTLE = 10.0
"""Seconds after a write's outcome became unknown before a copy not found on the target is
taken as never written (see `migrate`'s `settle`)."""
_POLL_FIRST, _POLL_MAX = 0.25, 4.0


@attrs.frozen(slots=True)
class _Call:
    side: Literal["source", "target"]
    method: str
    args: tuple[Any, ...] = ()


@attrs.frozen(slots=True)
class _Next:
    iterator: Any


@attrs.frozen(slots=True)
class _InFlight:
    """Record durably that a write is about to happen (the driver may group these)."""

    source_id: str
    draft: str


class _End:
    pass


_END = _End()
Step: TypeAlias = Generator[_Call | _Next | _InFlight, Any, T]


@attrs.frozen(slots=True)
class _Planned:
    entry: PlanEntry
    fingerprint: str
    customer_key: str | None
    customer_email: str | None
    customer_name: str | None
    draft: str | None


_HINTS = (
    ("currency", "state a conversion rate (CurrencyPolicy, --rate FROM:TO=RATE)"),
    ("due_date", "state a due date for invoices without one (due_days, --due-days N)"),
    ("shipping", "carry extras as line items (extras_as_lines, --extras-as-lines)"),
    ("cash_on_delivery", "carry extras as line items (extras_as_lines, --extras-as-lines)"),
    ("tax", "carry extras as line items (extras_as_lines, --extras-as-lines)"),
    ("discount", "carry extras as line items (extras_as_lines, --extras-as-lines)"),
)


def _with_hints(reason: str, keys: list[str]) -> str:
    hints: list[str] = []
    for field, hint in _HINTS:
        if any(k == field or k.endswith("." + field) for k in keys) and hint not in hints:
            hints.append(hint)
    return reason + (f" (policy: {'; '.join(hints)})" if hints else "")


def _unrepresentable(exc: ArithmeticError) -> str:
    """The plan's reason for an invoice whose amounts decimal arithmetic cannot carry (a SAR
    total of 1e30 converted at a rate, quantized to cents): exact or not at all."""
    return (f"an amount cannot be represented exactly on the target "
            f"(decimal {type(exc).__name__})")


def _fields_of(exc: errors.InvoiceKitError) -> list[str]:
    keys = list(getattr(exc, "fields", {}) or {})
    feature = getattr(exc, "feature", None)
    if feature:
        keys.append(str(feature))
    return [k.lower() for k in keys]


class _Run:
    """The state of one run: gateways (for their sync parts), journal, policy, counters."""

    def __init__(self, source: Gateway | AsyncGateway, target: Gateway | AsyncGateway, *,
                 journal: str | os.PathLike[str], policy: MigrationPolicy | None,
                 resume: bool, plan_path: str | os.PathLike[str] | None,
                 progress: ProgressCallback | None, settle: float,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if source is target:
            raise errors.ConfigurationError("source and target are the same gateway")
        if (isinstance(settle, bool) or not isinstance(settle, int | float)
                or not 0 < settle < float("inf")):
            raise errors.InvalidRequest(
                f"settle must be a positive number of seconds, got {settle!r}")
        self.settle = float(settle)
        self.source, self.target = source, target
        self.policy = policy if policy is not None else MigrationPolicy()
        self.source_name = source.provider
        self.journal = Journal(journal, source=source.provider, target=target.provider,
                               resume=resume, lease_seconds=lease_seconds)
        self.progress_cb = progress
        self.plan_file: IO[str] | None = None
        if plan_path is not None:
            try:
                self.plan_file = Path(plan_path).open("w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                self.journal.close()
                raise errors.ConfigurationError(
                    f"cannot write the plan file {str(plan_path)!r}: {exc.strerror}") from exc
        self.started = time.monotonic()
        self.seen = 0
        self.written = 0
        self.reconciled = 0
        self.customers_created = 0
        self.failed_now = 0
        self.verified: int | None = None
        self.mismatches: list[Mismatch] = []
        self.duplicates: dict[str, tuple[str, ...]] = {}
        self.unknown_now: set[str] = set()
        """Writes whose answer this run lost: never written again by this run."""
        self.done_later: list[tuple[str, str, str | None]] | None = None
        """When a list (`migrate_async`), copies made but not yet recorded done: recorded
        together by `record_done` (until then a crash leaves them in flight, to be found
        on the target by their marker: a `done` mark only saves that search)."""
        self.customers: dict[str, tuple[str | None, str] | None] = {}
        """What the journal says of each customer key looked up (this run is the only
        writer of its journal: the lease), updated as this run creates customers."""
        self.last_check = 0.0
        self.poll = 0.0
        self.newest_unknown = 0.0
        self.wait_until = 0.0
        caps = target.capabilities
        self.target_keeps_customers = Capability.CREATE_CUSTOMER in caps
        self.requires_order = bool(getattr(target.provider_object, "requires_order_id", False))
        self.source_has_pdf = Capability.PDF_URL in source.capabilities

    def close(self) -> None:
        if self.plan_file is not None:
            self.plan_file.close()
        self.journal.close()

    def customer(self, key: str) -> tuple[str | None, str] | None:
        """`Journal.customer`, read once per key per run."""
        if key not in self.customers:
            self.customers[key] = self.journal.customer(key)
        return self.customers[key]

    def record_done(self) -> None:
        """Record the copies `done_later` holds as done, in one commit."""
        if self.done_later:
            self.journal.marks_done(*self.done_later)
            self.done_later.clear()

    def tick(self, phase: str, done: int, total: int | None = None) -> None:
        if self.progress_cb is not None:
            self.progress_cb(Progress(phase, done, total, self.failed_now))

    # ---- reconciliation --------------------------------------------------------------------
    def in_flight(self) -> list[Entry]:
        return list(self.journal.entries("state = 'in_flight'"))

    def reconcile(self) -> Step[int]:
        """Look for the copy of every in-flight entry on the target.

        Found: done (two or more copies are reported as duplicates). Not found: planned
        again only when the answer is certain, i.e. the settle time since the outcome became
        unknown has passed and the write is not one whose answer this run lost; otherwise
        the entry stays in flight, to be checked again. Returns how many were settled.
        """
        self.last_check = time.time()
        entries = self.in_flight()
        if not entries:
            return 0
        self.tick("reconcile", 0, len(entries))
        found: dict[str, list[Invoice]] = {e.source_id: [] for e in entries}
        drafts = {e.source_id: draft_from_json(e.draft or "") for e in entries}
        full_scan: list[Entry] = []
        for e in entries:
            draft = drafts[e.source_id]
            if draft.order_id is not None:
                query = InvoiceQuery(order_id=draft.order_id)
            elif draft.customer is not None and draft.customer.id is not None:
                query = InvoiceQuery(customer_id=draft.customer.id)
            else:
                full_scan.append(e)
                continue
            try:
                yield from self._scan(query, {e.source_id: draft}, found)
            except (errors.UnsupportedFeature, errors.InvalidRequest):
                full_scan.append(e)
        if full_scan:
            yield from self._scan(InvoiceQuery(), {e.source_id: drafts[e.source_id]
                                                   for e in full_scan}, found)
        settled = 0
        for n, e in enumerate(entries, start=1):
            copies = found[e.source_id]
            if copies:
                note = None
                if len(copies) > 1:
                    self.duplicates[e.source_id] = tuple(c.id for c in copies)
                    note = f"{len(copies)} copies found: {', '.join(c.id for c in copies)}"
                self.journal.mark_done(e.source_id, copies[0].id, note=note)
                self.reconciled += 1
                settled += 1
            elif (e.source_id not in self.unknown_now
                  and self.last_check - e.updated >= self.settle):
                self.journal.mark_planned(
                    e.source_id, f"not found on the target {self.settle:g} s or more after "
                    "its outcome became unknown; written again")
                settled += 1
            self.tick("reconcile", n, len(entries))
        return settled

    def next_check(self) -> float | None:
        """Seconds to wait before in-flight entries are looked for again, or `None` when
        there is nothing more to learn in this run: no entry in flight, or every one was
        looked for after its settle time had passed (those stay in flight, reported)."""
        entries = self.in_flight()
        if not entries:
            return None
        newest = max(e.updated for e in entries)
        if newest > self.newest_unknown:
            self.newest_unknown = newest
            # min(): a clock set back never makes the run wait longer than `settle`
            self.wait_until = min(newest, time.time()) + self.settle
        if self.last_check >= self.wait_until:
            return None
        wait = min(self.poll, max(0.0, self.wait_until - time.time()))
        self.poll = min(max(self.poll * 2, _POLL_FIRST), _POLL_MAX)
        return wait

    def _scan(self, query: InvoiceQuery, wanted: dict[str, InvoiceDraft],
              found: dict[str, list[Invoice]]) -> Step[None]:
        markers = {make_marker(self.source_name, sid): sid for sid in wanted}
        keyed: dict[tuple[str | None, Any, str | None], str] = {
            (d.order_id, d.kind, d.number): sid for sid, d in wanted.items()
            if d.order_id is not None and d.number is not None}
        iterator = yield _Call("target", "list_invoices", (query,))
        while True:
            invoice = yield _Next(iterator)
            if isinstance(invoice, _End):
                return
            assert isinstance(invoice, Invoice)
            sid = None
            text = invoice.description or ""
            if "[invoicekit-migrate " in text:
                sid = next((s for m, s in markers.items() if m in text), None)
            if sid is None and keyed:
                sid = keyed.get((invoice.order_id, invoice.kind, invoice.number))
            if sid is not None and all(c.id != invoice.id for c in found[sid]):
                found[sid].append(invoice)

    # ---- planning ------------------------------------------------------------------------------
    def plan(self, query: InvoiceQuery) -> Step[None]:
        """Stream the source, classify each invoice, record the plan in batches."""
        iterator = yield _Call("source", "list_invoices", (query,))
        batch: list[tuple[Invoice, _Planned]] = []
        self.tick("plan", 0)
        while True:
            invoice = yield _Next(iterator)
            if isinstance(invoice, _End):
                break
            assert isinstance(invoice, Invoice)
            planned = yield from self.classify(invoice)
            batch.append((invoice, planned))
            self.seen += 1
            if len(batch) >= _PLAN_BATCH:
                self._record(batch)
                batch = []
                self.tick("plan", self.seen)
        self._record(batch)
        self.tick("plan", self.seen, self.seen)

    def classify(self, invoice: Invoice) -> Step[_Planned]:
        """The plan for one source invoice: ready, needs a mapping, or cannot be carried."""
        policy = self.policy
        target = self.target.provider
        actions: list[str] = []
        needs: list[str] = []
        customer_id: str | None = None
        customer_key: str | None = None
        cust = invoice.customer
        if self.target_keeps_customers:
            mapped = policy.customers.lookup(invoice)
            if isinstance(mapped, Customer):
                cust, mapped = mapped, None
            who = (cust.email or cust.name or cust.id) if cust is not None else None
            if isinstance(mapped, str):
                customer_id = mapped
                cust = cust if cust is not None else Customer()
                actions.append(f"customer {who or '-'} -> {mapped} (mapping)")
            elif cust is None:
                needs.append(f"names no customer, and every {target} invoice needs one: map "
                             f"invoice:{invoice.id} or order:{invoice.order_id} to a customer, "
                             "or give a customer resolver")
            elif policy.customers.create_by_email and cust.email:
                customer_key = "email:" + cust.email.strip().lower()
                known = self.customer(customer_key)
                if known is not None and known[1] == "done":
                    customer_id, customer_key = known[0], None
                    actions.append(f"customer {who} -> {customer_id} (created earlier)")
                else:
                    actions.append(f"create {target} customer {cust.email}")
            elif policy.customers.create_by_email:
                needs.append(f"needs a {target} customer for {who}: it has no email to "
                             "create one by; add it to the customer mapping")
            else:
                needs.append(f"needs a {target} customer for {who}: give a customer "
                             "mapping or create customers by email")
        order_id = policy.orders.lookup(invoice)
        if order_id is not None:
            actions.append(f"order {order_id} (mapping)")
        elif self.requires_order:
            needs.append(f"needs a {target} order id: map source invoice {invoice.id}"
                         + (f" (number {invoice.number})" if invoice.number else "")
                         + " in the order mapping")
        document_url = None
        if policy.orders.attach_pdf:
            document_url = invoice.pdf_url
            if document_url is None and self.source_has_pdf:
                try:
                    document_url = yield _Call("source", "get_pdf_url", (invoice.id,))
                except errors.ProviderError as exc:
                    return self._verdict(invoice, "cannot_carry",
                                         f"its PDF could not be fetched: {exc}")
            if document_url is None:
                return self._verdict(invoice, "cannot_carry",
                                     f"{self.source_name} has no PDF of it to attach")
            actions.append("carried as its source PDF")
        try:
            conversion = build_draft(
                invoice, policy, source_provider=self.source_name,
                customer=None if cust is None else attrs.evolve(cust, id=customer_id),
                order_id=order_id, document_url=document_url)
        except errors.InvalidRequest as exc:
            return self._verdict(invoice, "cannot_carry", f"it cannot be converted: {exc}")
        except ArithmeticError as exc:  # decimal's InvalidOperation, Overflow...
            return self._verdict(invoice, "cannot_carry",
                                 f"it cannot be converted: {_unrepresentable(exc)}")
        draft = conversion.draft
        actions.extend(conversion.notes)
        try:
            draft, notes = self._checked(draft)
            actions.extend(notes)
        except ArithmeticError as exc:
            return self._verdict(invoice, "cannot_carry",
                                 f"{self.target.provider} cannot take it: "
                                 f"{_unrepresentable(exc)}")
        except (errors.InvalidRequest, errors.UnsupportedFeature) as exc:
            keys = _fields_of(exc)
            mapping = [k for k in keys if (order_id is None and "order" in k)
                       or (customer_id is None and "customer" in k)]
            if not keys or len(mapping) != len(keys):
                return self._verdict(invoice, "cannot_carry", _with_hints(str(exc), keys))
            if order_id is None and any("order" in k for k in mapping) and not any(
                    "order" in n for n in needs):
                needs.append(f"needs a {target} order id: {exc}")
            # else only the customer the copy creates first is missing: checked again then
        if needs:
            return self._verdict(invoice, "needs_mapping", "; ".join(needs))
        entry = PlanEntry(invoice.id, invoice.number, invoice.kind.value, "ready",
                          actions=tuple(actions))
        return _Planned(entry, fingerprint(invoice), customer_key,
                        cust.email if cust is not None and customer_key else None,
                        cust.name if cust is not None and customer_key else None,
                        draft_to_json(draft))

    def _checked(self, draft: InvoiceDraft) -> tuple[InvoiceDraft, list[str]]:
        """The target's `check_draft` verdict, after the one adaptation that changes no
        content: a target that numbers invoices itself gets the source number in the
        description instead. Raises what `check_draft` raises otherwise."""
        try:
            return self.target.check_draft(draft), []
        except (errors.InvalidRequest, errors.UnsupportedFeature) as exc:
            if draft.number is None or "number" not in _fields_of(exc):
                raise
            note = (f"{self.target.provider} numbers its invoices: the source number "
                    f"{draft.number} is kept in the description")
            return self.target.check_draft(without_number(draft)), [note]

    def _verdict(self, invoice: Invoice, category: Category, reason: str) -> _Planned:
        entry = PlanEntry(invoice.id, invoice.number, invoice.kind.value, category,
                          reason=reason, state="skipped")
        return _Planned(entry, fingerprint(invoice), None, None, None, None)

    def _record(self, batch: list[tuple[Invoice, _Planned]]) -> None:
        if not batch:
            return
        existing = self.journal.get_many([inv.id for inv, _ in batch])
        lines: list[str] = []
        with self.journal.transaction(durable=False) as db:
            for invoice, planned in batch:
                entry = planned.entry
                old = existing.get(invoice.id)
                if old is not None and old.state in ("done", "in_flight"):
                    changed = old.fingerprint != planned.fingerprint
                    if changed != old.changed:
                        self.journal.mark_changed(db, invoice.id, changed)
                    entry = attrs.evolve(entry, state=old.state, target_id=old.target_id,
                                         reason="changed at the source since copied; not "
                                         "overwritten" if changed else entry.reason)
                else:
                    state: State = "planned" if entry.category == "ready" else "skipped"
                    self.journal.upsert(
                        db, source_id=invoice.id, source_number=invoice.number,
                        kind=entry.kind, fingerprint=planned.fingerprint,
                        category=entry.category,  # type: ignore[arg-type]
                        reason=entry.reason, customer_key=planned.customer_key,
                        customer_email=planned.customer_email,
                        customer_name=planned.customer_name, draft=planned.draft, state=state)
                    entry = attrs.evolve(entry, state=state)
                if self.plan_file is not None:
                    row = entry.to_dict()
                    if planned.draft is not None:
                        row["draft"] = json.loads(planned.draft)
                    lines.append(json.dumps(row, ensure_ascii=False))
        if self.plan_file is not None and lines:
            self.plan_file.write("\n".join(lines) + "\n")

    # ---- customers -----------------------------------------------------------------------------
    def pending_customers(self) -> list[tuple[str, str, str | None]]:
        return list(self.journal.pending_customers())

    def create_customer(self, key: str, email: str, name: str | None) -> Step[None]:
        """Create one customer the plan needs; its id is journaled and reused."""
        self.mark_customers([key])
        created = yield from self.new_customer(email, name)
        self.record_customers([] if created is None else [(key, created)])

    def mark_customers(self, keys: list[str]) -> None:
        """Mark the customers of *keys* in flight, in one durable commit, before any of
        them is asked for."""
        self.journal.customer_in_flight(*keys)
        self.customers.update((key, (None, "in_flight")) for key in keys)

    def record_customers(self, created: list[tuple[str, str]]) -> None:
        """Record the ids of the customers *created* (`(key, id)`), in one commit."""
        if created:
            self.journal.customers_done(*created)
            self.customers.update((key, (id_, "done")) for key, id_ in created)
            self.customers_created += len(created)

    def new_customer(self, email: str, name: str | None) -> Step[str | None]:
        """Create one customer on the target (its in-flight mark already committed); its
        id, or `None` when the target refused it or gave no id (logged; the invoices
        that need it are recorded failed)."""
        try:
            created = yield _Call("target", "create_customer",
                                  (Customer(name=name or email, email=email),))
        except errors.InvoiceKitError as exc:
            log.warning("creating customer %s failed: %s", email, exc)
            return None
        assert isinstance(created, Customer)
        if created.id is None:
            log.warning("%s returned no id for the new customer %s", self.target.provider, email)
            return None
        return created.id

    # ---- copying -----------------------------------------------------------------------------
    def copy(self, entry: Entry) -> Step[str]:
        """Write one planned invoice exactly once: in flight (durable), create, done (durable)."""
        draft = yield from self.prepare(entry)
        if draft is None:
            return "failed"
        return (yield from self.write(entry, draft))

    def prepare(self, entry: Entry) -> Step[InvoiceDraft | None]:
        """The draft to write for one planned invoice: with the id of the customer created
        for it, its source PDF, as the target's `check_draft` leaves it. `None` once the
        entry is recorded failed (refused before any request)."""
        draft = draft_from_json(entry.draft or "")
        if entry.customer_key is not None:
            known = self.customer(entry.customer_key)
            if known is None or known[1] != "done" or known[0] is None:
                self.journal.mark_failed(entry.source_id,
                                         f"the customer {entry.customer_email} could not be "
                                         f"created on {self.target.provider}")
                self.failed_now += 1
                return None
            assert draft.customer is not None
            draft = attrs.evolve(draft, customer=attrs.evolve(draft.customer, id=known[0]))
        if draft.document_url is not None and self.source_has_pdf:
            try:
                url = yield _Call("source", "get_pdf_url", (entry.source_id,))
                draft = attrs.evolve(draft, document_url=url)
            except errors.ProviderError as exc:
                self.journal.mark_failed(entry.source_id, f"fetching its PDF failed: {exc}")
                self.failed_now += 1
                return None
        try:
            draft, _ = self._checked(draft)
        except (errors.InvalidRequest, errors.UnsupportedFeature, ArithmeticError) as exc:
            reason = _unrepresentable(exc) if isinstance(exc, ArithmeticError) else str(exc)
            self.journal.mark_failed(entry.source_id, reason)  # refused before any request
            self.failed_now += 1
            return None
        return draft

    def write(self, entry: Entry, draft: InvoiceDraft, *, marked: bool = False) -> Step[str]:
        """Create the copy and record the outcome. Unless *marked* (the caller has already
        committed this draft in flight, durably), the in-flight mark comes first."""
        if not marked:
            yield _InFlight(entry.source_id, draft_to_json(draft))
        try:
            created = yield _Call("target", "create_invoice", (draft,))
        except errors.OutcomeUnknown as exc:
            self.unknown_now.add(entry.source_id)
            self.journal.mark_unknown(entry.source_id, str(exc))
            return "unknown"
        except errors.InvoiceKitError as exc:
            self.journal.mark_failed(entry.source_id, str(exc))
            self.failed_now += 1
            return "failed"
        assert isinstance(created, Invoice)
        if self.done_later is not None:
            self.done_later.append((entry.source_id, created.id, None))
        else:
            self.journal.mark_done(entry.source_id, created.id)
        self.written += 1
        return "done"

    def to_copy(self, *, include_failed: bool) -> Iterator[Entry]:
        states = "('planned', 'failed')" if include_failed else "('planned')"
        return self.journal.entries(f"category = 'ready' AND state IN {states}")

    def copy_total(self, *, include_failed: bool) -> int:
        states = "('planned', 'failed')" if include_failed else "('planned')"
        return self.journal.count(f"category = 'ready' AND state IN {states}")

    # ---- verification ------------------------------------------------------------------------
    def verify(self, entry: Entry) -> Step[None]:
        """Compare one copy on the target with the converted source it was written from."""
        assert entry.target_id is not None
        try:
            invoice = yield _Call("target", "get_invoice", (entry.target_id,))
        except errors.NotFound:
            self.mismatches.append(Mismatch(entry.source_id, entry.target_id, "exists",
                                            "the copy", "not found"))
            return
        assert isinstance(invoice, Invoice)
        try:
            self.mismatches.extend(compare(entry.source_id, draft_from_json(entry.draft or ""),
                                           invoice))
        except ArithmeticError as exc:
            self.mismatches.append(Mismatch(entry.source_id, entry.target_id, "amounts",
                                            "comparable amounts", _unrepresentable(exc)))
        self.verified = (self.verified or 0) + 1

    def to_verify(self) -> Iterator[Entry]:
        return self.journal.entries("state = 'done' AND target_id IS NOT NULL")

    def find_duplicates(self) -> Step[None]:
        """List the target once and report every source invoice whose marker appears on
        more than one target invoice (a write repeated by whatever means)."""
        self.tick("duplicates", 0)
        copies: dict[str, list[str]] = {}
        iterator = yield _Call("target", "list_invoices", (InvoiceQuery(),))
        seen = 0
        while True:
            invoice = yield _Next(iterator)
            if isinstance(invoice, _End):
                break
            assert isinstance(invoice, Invoice)
            seen += 1
            for sid in marked_ids(self.source_name, invoice.description):
                ids = copies.setdefault(sid, [])
                if invoice.id not in ids:
                    ids.append(invoice.id)
        for sid, ids in copies.items():
            if len(ids) > 1:
                self.duplicates[sid] = tuple(ids)
        self.tick("duplicates", seen, seen)

    # ---- the report ----------------------------------------------------------------------------
    def report(self, *, plan_only: bool) -> MigrationReport:
        j = self.journal
        not_carried = tuple(
            PlanEntry(e.source_id, e.source_number, e.kind, e.category, e.reason,
                      state=e.state)
            for e in j.entries("state = 'skipped'"))
        return MigrationReport(
            source=self.source.provider, target=self.target.provider, journal=j.location,
            plan_only=plan_only, seen=self.seen, categories=j.category_counts(),
            states=j.counts(), written=self.written, reconciled=self.reconciled,
            customers_created=self.customers_created, not_carried=not_carried,
            changed=tuple(e.source_id for e in j.entries("changed = 1")),
            failures=tuple((e.source_id, e.error or "") for e in j.entries("state = 'failed'")),
            in_flight=tuple(e.source_id for e in j.entries("state = 'in_flight'")),
            verified=self.verified, mismatches=tuple(self.mismatches),
            duplicates=tuple(self.duplicates), duplicate_copies=dict(self.duplicates),
            elapsed=time.monotonic() - self.started)


def _query(since: dt.date | None, until: dt.date | None, page_size: int | None) -> InvoiceQuery:
    return InvoiceQuery(from_date=since, to_date=until, page_size=page_size)


# ---- the sync driver ---------------------------------------------------------------------------
def _drive(step: Step[T], source: Gateway, target: Gateway, journal: Journal) -> T:
    value: Any = None
    failure: errors.InvoiceKitError | None = None
    while True:
        try:
            action = step.throw(failure) if failure is not None else step.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        failure, value = None, None
        try:
            if isinstance(action, _Next):
                value = next(action.iterator, _END)
            elif isinstance(action, _InFlight):
                journal.mark_in_flight((action.source_id, action.draft))
            else:
                gateway = source if action.side == "source" else target
                value = getattr(gateway, action.method)(*action.args)
        except errors.InvoiceKitError as exc:
            failure = exc


def migrate(
    source: Gateway,
    target: Gateway,
    *,
    journal: str | os.PathLike[str],
    policy: MigrationPolicy | None = None,
    plan_only: bool = False,
    plan_path: str | os.PathLike[str] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    resume: bool = False,
    verify: bool = False,
    page_size: int | None = None,
    progress: ProgressCallback | None = None,
    settle: float = DEFAULT_SETTLE,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> MigrationReport:
    """Copy every invoice of *source* to *target* exactly once, recorded in *journal*.

    ```python
    policy = MigrationPolicy(currency=CurrencyPolicy({("SAR", "USD"): Decimal("0.2666")}),
                             customers=CustomerPolicy(create_by_email=True), due_days=30)
    report = invoicekit.migrate(salla, dayzero, journal="salla-to-dayzero.db", policy=policy)
    print(report.render())
    ```

    *journal* is a SQLite file (`"move.db"`) or a PostgreSQL URL
    (`"postgresql://user@host/db?migration=merchant-42"`, with the `postgres` extra); one
    run at a time holds it (see `Journal`).

    The source is streamed page by page and every invoice classified (`ready`,
    `needs_mapping`, `cannot_carry`) before anything is written; `plan_only=True` stops
    there (nothing is written to the target) and `plan_path` receives the plan as JSON
    lines. A journal that already records invoices needs `resume=True`: entries a crash
    left in flight are then found on the target by their marker before anything is
    retried, so no invoice is written twice; re-running a finished migration writes
    nothing. `verify=True` re-reads every copy, lists each mismatch, and lists the target
    once to report any source invoice copied more than once. Ctrl-C stops between writes:
    a write under way is either recorded or reconciled on the next run.

    A write whose answer is lost (a timeout, a reset: `OutcomeUnknown`) stays in flight:
    the run looks for it again, waiting at most *settle* seconds for a slow write to land.
    Still unseen, it is reported in `in_flight` (the report is not `ok`) and the next run
    looks for it first; only a copy still absent *settle* seconds after its outcome became
    unknown is written again. Make *settle* longer than the target may take to carry out
    a request its client gave up on.

    *lease_seconds* is how long the journal's lease outlives a run that stops renewing it
    (a killed worker on another machine) before another run may take the migration over.
    """
    run = _Run(source, target, journal=journal, policy=policy, resume=resume,
               plan_path=plan_path, progress=progress, settle=settle,
               lease_seconds=lease_seconds)

    def drive(step: Step[T]) -> T:
        return _drive(step, source, target, run.journal)

    try:
        drive(run.reconcile())
        drive(run.plan(_query(since, until, page_size)))
        if not plan_only:
            customers = run.pending_customers()
            for n, (key, email, name) in enumerate(customers, start=1):
                drive(run.create_customer(key, email, name))
                run.tick("customers", n, len(customers))
            first = True
            while True:
                total = run.copy_total(include_failed=first)
                run.tick("copy", 0, total)
                for n, entry in enumerate(run.to_copy(include_failed=first), start=1):
                    drive(run.copy(entry))
                    run.tick("copy", n, total)
                first = False
                wait = run.next_check()
                if wait is None:
                    break
                time.sleep(wait)  # a real wait: the target is still carrying out a write
                drive(run.reconcile())
        if verify:
            run.verified = 0
            total = run.journal.count("state = 'done'")
            for n, entry in enumerate(run.to_verify(), start=1):
                drive(run.verify(entry))
                run.tick("verify", n, total)
            drive(run.find_duplicates())
        return run.report(plan_only=plan_only)
    finally:
        run.close()


# ---- the async driver --------------------------------------------------------------------------
class _MarkedAhead:
    """The copies of `migrate_async`, marked in flight a batch at a time.

    A durable commit costs an `fsync` (about a millisecond, far more on a busy disk).
    Marking each write on its own, as its writer becomes ready, costs one per write: the
    writers finish their requests at different moments, so few marks ever share a commit.
    Here, a writer that finds no marked copy left takes the next *size* entries (twice the
    concurrency: each writer's next copy is marked while its current one is in flight,
    so a commit serves two writes of each writer), prepares their drafts (concurrently:
    a PDF may be fetched) and marks them all in flight in **one** durable commit, with
    the copies made since the last batch recorded done in the same commit; it and the
    writers after it take these marked copies until they run out. Every write is still
    sent only after the commit holding its mark has returned (is on disk). A run stopped
    (cancelled, killed) while marked copies wait leaves them in flight unsent; the next
    run looks for them on the target first, as for any write whose outcome it does not
    know.
    """

    def __init__(self, run: _Run, entries: Iterator[Entry], size: int,
                 drive: Callable[[Step[InvoiceDraft | None]], Awaitable[InvoiceDraft | None]]
                 ) -> None:
        self.run = run
        self.entries = entries
        self.size = size
        self.drive = drive
        self.marked: deque[tuple[Entry, InvoiceDraft | None]] = deque()
        self.lock = asyncio.Lock()

    async def take(self) -> tuple[Entry, InvoiceDraft | None] | _End:
        """The next copy: `(entry, draft)` marked in flight, `(entry, None)` for one
        recorded failed before any request, or `_END`."""
        async with self.lock:  # one writer marks the next batch; the others wait for it
            if not self.marked:
                batch = list(itertools.islice(self.entries, self.size))
                if self.run.policy.orders.attach_pdf and self.run.source_has_pdf:
                    # each may fetch its PDF from the source: fetch them concurrently
                    drafts = await _together([self.drive(self.run.prepare(e)) for e in batch])
                else:  # no request to wait for: no task to make either
                    drafts = [await self.drive(self.run.prepare(e)) for e in batch]
                ready = [(e, d) for e, d in zip(batch, drafts, strict=True) if d is not None]
                if ready:
                    # One durable commit: the marks, and the copies made since the last
                    # batch recorded done.
                    self.run.journal.mark_in_flight(
                        *((e.source_id, draft_to_json(d)) for e, d in ready),
                        done=self.run.done_later or ())
                    if self.run.done_later:
                        self.run.done_later.clear()
                else:
                    self.run.record_done()  # the copies made since the last batch
                self.marked.extend(zip(batch, drafts, strict=True))
            return self.marked.popleft() if self.marked else _END


async def _drive_async(step: Step[T], source: AsyncGateway, target: AsyncGateway,
                       journal: Journal) -> T:
    value: Any = None
    failure: errors.InvoiceKitError | None = None
    while True:
        try:
            action = step.throw(failure) if failure is not None else step.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        failure, value = None, None
        try:
            if isinstance(action, _Next):
                iterator: AsyncIterator[Any] = action.iterator
                value = await anext(iterator, _END)
            elif isinstance(action, _InFlight):
                journal.mark_in_flight((action.source_id, action.draft))
            else:
                gateway = source if action.side == "source" else target
                value = getattr(gateway, action.method)(*action.args)
                if inspect.isawaitable(value):
                    value = await value
        except errors.InvoiceKitError as exc:
            failure = exc


async def _together(work: list[Awaitable[T]]) -> list[T]:
    """Await all of *work* concurrently; the first error is raised (not a group) once the
    others are cancelled."""
    async def one(item: Awaitable[T]) -> T:
        return await item

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(item)) for item in work]
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return [task.result() for task in tasks]


async def _pool(items: Iterator[T] | Callable[[], Awaitable[T | _End]],
                work: Callable[[T], Any], concurrency: int) -> None:
    """Run `work(item)` for every item, at most *concurrency* at a time (items pulled lazily,
    from an iterator or by awaiting `items()` until it gives `_END`)."""
    async def worker() -> None:
        if not callable(items):
            for item in items:  # one shared iterator: each next() runs between awaits
                await work(item)
            return
        while not isinstance(taken := await items(), _End):
            await work(taken)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        # Callers expect the error itself (an InvoiceKitError, KeyboardInterrupt...), not a
        # group: the first is raised, the others were consequences (their tasks cancelled).
        raise group_error.exceptions[0] from None


async def migrate_async(
    source: AsyncGateway,
    target: AsyncGateway,
    *,
    journal: str | os.PathLike[str],
    policy: MigrationPolicy | None = None,
    concurrency: int = 8,
    plan_only: bool = False,
    plan_path: str | os.PathLike[str] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    resume: bool = False,
    verify: bool = False,
    page_size: int | None = None,
    progress: ProgressCallback | None = None,
    settle: float = DEFAULT_SETTLE,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> MigrationReport:
    """`migrate()` with async gateways and up to *concurrency* writes (and reads) at once.

    Pacing to each provider's rate limit is the gateways' throttle's job, so a higher
    bound uses the allowed rate without 429s failing records. If the task is cancelled
    (Ctrl-C under `asyncio.run`), writes under way are left in flight in the journal and
    reconciled on the next run.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise errors.InvalidRequest(f"concurrency must be a positive int, got {concurrency!r}")
    run = _Run(source, target, journal=journal, policy=policy, resume=resume,
               plan_path=plan_path, progress=progress, settle=settle,
               lease_seconds=lease_seconds)

    async def drive(step: Step[T]) -> T:
        return await _drive_async(step, source, target, run.journal)

    try:
        await drive(run.reconcile())
        await drive(run.plan(_query(since, until, page_size)))
        if not plan_only:
            customers = run.pending_customers()
            if customers:
                # Every in-flight mark in one durable commit (a mark only says a customer
                # may exist: one never created is created by the next run), then the ids of
                # each batch of concurrent creates in one commit each.
                run.mark_customers([key for key, _, _ in customers])
            for made in range(0, len(customers), concurrency):
                batch = customers[made:made + concurrency]
                ids = await _together([drive(run.new_customer(email, name))
                                       for _, email, name in batch])
                run.record_customers([(key, id_) for (key, _, _), id_
                                      in zip(batch, ids, strict=True) if id_ is not None])
                run.tick("customers", made + len(batch), len(customers))
            first = True
            while True:
                total = run.copy_total(include_failed=first)
                copied = 0
                run.tick("copy", 0, total)

                async def copy(item: tuple[Entry, InvoiceDraft | None],
                               total: int = total) -> None:
                    nonlocal copied
                    entry, draft = item
                    if draft is not None:
                        await drive(run.write(entry, draft, marked=True))
                    copied += 1
                    run.tick("copy", copied, total)

                ahead = _MarkedAhead(run, run.to_copy(include_failed=first), 2 * concurrency,
                                     drive)
                run.done_later = []
                try:
                    await _pool(ahead.take, copy, concurrency)
                except BaseException:
                    with contextlib.suppress(Exception):  # what is known of the copies made
                        run.record_done()
                    raise
                run.record_done()
                run.done_later = None
                first = False
                wait = run.next_check()
                if wait is None:
                    break
                await asyncio.sleep(wait)  # a real wait: the target may still be writing
                await drive(run.reconcile())
        if verify:
            run.verified = 0
            total = run.journal.count("state = 'done'")
            checked = 0

            async def check(entry: Entry) -> None:
                nonlocal checked
                await drive(run.verify(entry))
                checked += 1
                run.tick("verify", checked, total)

            await _pool(run.to_verify(), check, concurrency)
            await drive(run.find_duplicates())
        return run.report(plan_only=plan_only)
    finally:
        with contextlib.suppress(Exception):
            run.close()
