"""The DayZero provider: settings, headers and the sans-IO operations.

Each operation describes DayZero requests (`yield Request(...)`) and parses the answers
with `_wire`; the core's gateways run them, sync or async, with its retry policy. Every
request carries `Authorization: Bearer dz_...` and `x-business-id` (and `x-user-email`
when set). Ids are UUIDs, checked before they reach a URL or a query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import ClassVar

import attrs

from invoicekit import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceQuery,
    InvoiceStatus,
    Operation,
    Page,
    PathParam,
    Provider,
    Request,
    Response,
    Secret,
    SendOptions,
    SendReceipt,
    errors,
)
from invoicekit.convert import parse_date

from . import _rules, _wire
from ._errors import error_from_response
from ._rules import DAYZERO_ID

__all__ = ["DayZeroProvider"]

_MAX_PAGE = 1000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_TOKEN = re.compile(r"dz_[A-Za-z0-9_\-.]+", re.ASCII)


class DayZeroProvider(Provider):
    """DayZero (ondayzero.com): UUID ids, `x-business-id`, amounts in cents, drafts to
    finalize, and cc/PDF options on send.

    ```python
    gw = invoicekit.connect("dayzero", token="dz_...", business_id="<business uuid>")
    ```

    Settings are checked here, at connect time, so a malformed business id or token fails
    with `ConfigurationError` naming the setting instead of as a 4xx on the first call.
    """

    name: ClassVar[str] = "dayzero"
    default_base_url: ClassVar[str | None] = "https://api.ondayzero.com/api/v1"
    features: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.SEND_CC, Capability.SEND_PDF}
    )
    rate_limit_model: ClassVar[str] = "window"
    distribution: ClassVar[str] = "invoicekit-dayzero"

    def __init__(
        self,
        *,
        token: str | Secret,
        business_id: str,
        user_email: str | None = None,
    ) -> None:
        if not isinstance(token, str | Secret):
            raise errors.ConfigurationError("token must be a string", setting="token",
                                            provider=self.name)
        secret = Secret(token)
        if not _TOKEN.fullmatch(secret.get()):
            raise errors.ConfigurationError(
                "token is not a DayZero API token (they start with 'dz_' and contain no "
                "spaces)", setting="token", provider=self.name)
        if not DAYZERO_ID.matches(business_id):
            shown = repr(business_id)[:60] if isinstance(business_id, str) else type(
                business_id).__name__
            raise errors.ConfigurationError(
                f"business_id {shown} is not a UUID (DayZero business ids look like "
                "3fa85f64-5717-4562-b3fc-2c963f66afa6)", setting="business_id",
                provider=self.name)
        if user_email is not None and (
            not isinstance(user_email, str) or not _EMAIL.fullmatch(user_email)
        ):
            raise errors.ConfigurationError("user_email is not an email address",
                                            setting="user_email", provider=self.name)
        self._token = secret
        self.business_id: str = business_id
        """The business (tenant) every request acts on, sent as `x-business-id`."""
        self.user_email: str | None = user_email
        """The acting user, sent as `x-user-email` when set."""

    # ---- settings and errors --------------------------------------------------------
    def secrets(self) -> Iterable[str]:
        """The API token, for the log redaction filter."""
        return (self._token.get(),)

    def auth_headers(self) -> Mapping[str, str]:
        """`Authorization: Bearer dz_...`."""
        return {"Authorization": f"Bearer {self._token.get()}"}

    def default_headers(self) -> Mapping[str, str]:
        """`x-business-id` on every request, and `x-user-email` when set."""
        headers = {"x-business-id": self.business_id}
        if self.user_email is not None:
            headers["x-user-email"] = self.user_email
        return headers

    def error_from_response(self, response: Response) -> errors.ProviderError:
        """FastAPI's `{"detail": ...}` shapes mapped to the error tree (see `_errors`)."""
        return error_from_response(response)

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """Refuse, before any request, a draft DayZero would refuse or change
        (`_rules.check_draft`: sub-cent amounts, fractional quantities, currencies other
        than USD, CAD, AUD, EUR and GBP, a missing due date or customer, no line items,
        amounts DayZero has no field for...), with `InvalidRequest` naming every field.

        The gateway calls this once per create, after `check_features` has refused credit
        notes and document forms; `create_invoice` trusts the draft it is given.
        """
        return _rules.check_draft(draft)

    def __repr__(self) -> str:
        return f"<DayZeroProvider business {getattr(self, 'business_id', '?')}>"

    # ---- helpers ----------------------------------------------------------------------
    def _invoice_id(self, invoice: Invoice | str) -> str:
        value = invoice.id if isinstance(invoice, Invoice) else invoice
        return DAYZERO_ID.check(value, provider=self.name)

    def _invoice_request(self, method: str, suffix: str, invoice_id: str, operation: str,
                         json: object = None) -> Request:
        return Request(method, "/invoices/{invoice_id}" + suffix,
                       path_params={"invoice_id": PathParam(invoice_id, DAYZERO_ID)}, json=json,
                       operation=operation)

    # ---- operations -------------------------------------------------------------------
    def create_customer(self, customer: Customer) -> Operation[Customer]:
        """`POST /customers` with the customer's name and email (and tax id, phone)."""
        body = _wire.customer_body(customer)
        response = yield Request("POST", "/customers", json=body, operation="create_customer")
        return _wire.parse_customer(response)

    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """`POST /invoices`; a customer without an id is created first (`POST /customers`).

        *draft* is one `check_draft` accepted (the gateway checks it once, before this).
        The returned invoice's `customer` carries the (new) customer id.
        """
        customer = draft.customer
        assert customer is not None  # check_draft refuses a draft without one
        if customer.id is None:
            customer = yield from self.create_customer(customer)
        assert customer.id is not None
        body = _wire.invoice_body(draft, customer.id)
        response = yield Request("POST", "/invoices", json=body, operation="create_invoice")
        invoice = _wire.parse_invoice(response)
        got = invoice.customer
        merged = Customer(
            id=(got.id if got is not None and got.id else customer.id),
            name=(got.name if got is not None and got.name else customer.name),
            email=(got.email if got is not None and got.email else customer.email),
        )
        return attrs.evolve(invoice, customer=merged)

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """`GET /invoices?id=<uuid>`: DayZero documents single-invoice reads only through
        the list endpoint's `id` filter. `NotFound` when nothing matches."""
        wanted = DAYZERO_ID.check(invoice_id, provider=self.name)
        response = yield Request("GET", "/invoices", params={"id": wanted, "limit": 1},
                                 operation="get_invoice")
        page = _wire.invoice_page(response)
        for invoice in page.items:
            if invoice.id.lower() == wanted.lower():
                return invoice
        raise errors.NotFound(
            f"no invoice {wanted} in business {self.business_id}", provider=self.name,
            request_id=response.request_id,
        )

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """One page of `GET /invoices` (cursor paging; filters `status`, `customer_id`,
        `search`). DayZero has no date or order filters: dates are filtered here on the
        issue date, and an `order_id` filter matches nothing (DayZero has no orders)."""
        if query.order_id is not None:
            return Page(())
        params: dict[str, str | int] = {}
        if cursor is not None:
            params["cursor"] = cursor
        if query.page_size is not None:
            params["limit"] = min(query.page_size, _MAX_PAGE)
        wanted: frozenset[str] | None = None
        if query.status is not None:
            wanted = _wire.wire_statuses(query.status)
            if len(wanted) == 1:
                params["status"] = next(iter(wanted))
            elif not wanted and query.status is not InvoiceStatus.UNKNOWN:
                return Page(())  # a status DayZero never has (ISSUED)
        if query.customer_id is not None:
            params["customer_id"] = DAYZERO_ID.check(query.customer_id, provider=self.name)
        if query.search:
            params["search"] = query.search
        response = yield Request("GET", "/invoices", params=params, operation="list_invoices")
        page = _wire.invoice_page(response)
        items = page.items
        if query.status is not None or query.from_date is not None or query.to_date is not None:
            items = tuple(inv for inv in items if _matches(inv, query, wanted))
        return Page(items, page.next_cursor)

    def finalize_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """`POST /invoices/{id}/finalize`: a draft becomes open and gets its number."""
        invoice_id = self._invoice_id(invoice)
        response = yield self._invoice_request("POST", "/finalize", invoice_id,
                                               "finalize_invoice")
        finalized = _wire.answered_invoice(response)
        if finalized is not None:
            return finalized
        # Finalize answers with the invoice in every example we know of; should one answer
        # with only an acknowledgement, read the invoice (and the number it was given).
        return (yield from self.get_invoice(invoice_id))

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """`PUT /invoices/{id}/void`; DayZero voids open invoices only (409 -> `Conflict`).

        DayZero answers with the voided invoice. Should it answer with only an
        acknowledgement, the invoice is read back; if that read fails, the void has still
        happened, so no error is raised: the result is what is known, the invoice given
        (or just its id) with status `VOID` and `provider_status` `"void"`, and the void's
        answer as `raw`.
        """
        invoice_id = self._invoice_id(invoice)
        response = yield self._invoice_request("PUT", "/void", invoice_id, "void_invoice")
        voided = _wire.answered_invoice(response)
        if voided is not None:
            return voided
        try:
            return (yield from self.get_invoice(invoice_id))
        except errors.ProviderError:
            known = invoice if isinstance(invoice, Invoice) else Invoice(
                id=invoice_id, provider=self.name)
            answer = response.json()
            return attrs.evolve(known, status=InvoiceStatus.VOID, provider_status="void",
                                raw=answer if isinstance(answer, dict) else {})

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """`POST /invoices/{id}/send` with `cc_sender` / `attach_pdf`.

        DayZero cannot send drafts: a draft is refused with `InvalidRequest` before any
        send request, or finalized first when `SendOptions(auto_finalize=True)`. An id
        (rather than an `Invoice`) is read first to learn its status.
        """
        invoice_id = self._invoice_id(invoice)
        current = invoice if isinstance(invoice, Invoice) else None
        if current is None or current.status is InvoiceStatus.UNKNOWN:
            current = yield from self.get_invoice(invoice_id)
        if current.status is InvoiceStatus.DRAFT:
            if not options.auto_finalize:
                raise errors.InvalidRequest(
                    f"invoice {invoice_id} is a draft and DayZero cannot send drafts: finalize "
                    "it first (gateway.finalize_invoice) or pass "
                    "SendOptions(auto_finalize=True)", provider=self.name)
            yield from self.finalize_invoice(invoice_id)
        response = yield self._invoice_request("POST", "/send", invoice_id, "send_invoice",
                                               json=_wire.send_body(options))
        return _wire.parse_receipt(response, invoice_id)

    def get_pdf_url(self, invoice: Invoice | str) -> Operation[str]:
        """`GET /invoices/{id}/pdf`: a fresh, expiring link to the PDF."""
        invoice_id = self._invoice_id(invoice)
        response = yield self._invoice_request("GET", "/pdf", invoice_id, "get_pdf_url")
        return _wire.parse_pdf_url(response)


def _matches(invoice: Invoice, query: InvoiceQuery, wanted: frozenset[str] | None) -> bool:
    if query.status is InvoiceStatus.UNKNOWN:
        if invoice.status is not InvoiceStatus.UNKNOWN:
            return False
    elif wanted is not None and invoice.provider_status not in wanted:
        return False
    if query.from_date is not None or query.to_date is not None:
        day = invoice.issue_date or _created_on(invoice)
        if day is None:
            return False
        if query.from_date is not None and day < query.from_date:
            return False
        if query.to_date is not None and day > query.to_date:
            return False
    return True


def _created_on(invoice: Invoice) -> dt.date | None:
    created = invoice.raw.get("created_at")
    try:
        return parse_date(created) if isinstance(created, str) else None
    except ValueError:
        return None
