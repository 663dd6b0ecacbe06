"""`SallaProvider`: Salla's order invoices as sans-IO operations on the core's base class.

Endpoints (base `https://api.salla.dev/admin/v2`, bearer token):

| operation | request | scope |
|---|---|---|
| `create_invoice` | `POST /orders/invoices` (multipart for a PDF file) | `orders.read_write` |
| `get_invoice` | `GET /orders/invoices/{invoice_id}` | `orders.read` |
| `list_page` | `GET /orders/invoices` (`page`, `per_page`, dates, `order_id`) | `orders.read` |
| `send_invoice` | `POST /orders/{order_id}/send-invoice` | `orders.read_write` |

Salla has no voiding (a credit note is its way to cancel an invoice) and no draft state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from invoicekit import (
    Capability,
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
from invoicekit.provider import check_base_url

from . import _errors, _rules, _wire
from ._rules import SALLA_ID
from .oauth import TOKEN_URL, OAuthSession, TokenCallback

__all__ = ["LANGUAGES", "SallaProvider"]

LANGUAGES = ("ar", "en")
"""Languages Salla answers in; `ar` is Salla's default, `en` asks for English messages."""


class SallaProvider(Provider):
    """Salla (Saudi e-commerce): tax invoices and credit notes issued against orders.

    Settings: `token` (a merchant access token), `language` (`"ar"` or `"en"`), and for
    tokens that renew themselves `client_id`, `client_secret`, `refresh_token`, `expires`
    (absolute time) and `on_token_refresh` (see `invoicekit_salla.oauth`); `token_url`
    points the refresh at another token endpoint (the sandbox's).
    """

    name: ClassVar[str] = "salla"
    default_base_url: ClassVar[str | None] = "https://api.salla.dev/admin/v2"
    features: ClassVar[frozenset[Capability]] = frozenset({
        Capability.CREDIT_NOTE,
        Capability.FROM_ORDER,
        Capability.DOCUMENT_URL,
        Capability.DOCUMENT_PDF,
    })
    rate_limit_model: ClassVar[str] = "leaky"
    distribution: ClassVar[str] = "invoicekit-salla"
    requires_order_id: ClassVar[bool] = True

    def __init__(
        self,
        token: str | Secret | None = None,
        *,
        language: str = "ar",
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        refresh_token: str | Secret | None = None,
        expires: object = None,
        on_token_refresh: TokenCallback | None = None,
        token_url: str = TOKEN_URL,
        refresh_margin: int | float = 60,
    ) -> None:
        if language not in LANGUAGES:
            raise errors.ConfigurationError(
                f"language must be one of {', '.join(LANGUAGES)}, got {language!r}",
                setting="language", provider=self.name)
        self.language = language
        self.oauth = OAuthSession(
            token=token, client_id=client_id, client_secret=client_secret,
            refresh_token=refresh_token, expires=expires, on_token_refresh=on_token_refresh,
            token_url=check_base_url(token_url, setting="token_url"),
            refresh_margin=refresh_margin,
        )
        """The merchant's credentials and their renewal."""

    # ---- hooks of the core ---------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Tokens and the client secret, kept out of logs."""
        return self.oauth.secrets()

    def auth_headers(self) -> Mapping[str, str]:
        """`Authorization: Bearer <access token>`."""
        token = self.oauth.token
        return {"Authorization": f"Bearer {token.get()}"} if token is not None else {}

    def default_headers(self) -> Mapping[str, str]:
        """`Accept-Language`, so Salla's messages come in the configured language."""
        return {"Accept-Language": self.language}

    @property
    def auth_generation(self) -> int:
        """Moves on every token refresh (the core refreshes once per generation)."""
        return self.oauth.generation

    def needs_refresh(self) -> bool:
        """The access token is missing or about to expire, and it can be renewed."""
        return self.oauth.needs_refresh()

    def can_refresh(self) -> bool:
        """A refresh token and client credentials are configured."""
        return self.oauth.can_refresh()

    def refresh(self) -> Operation[None]:
        """Renew the token pair (called by the core under its lock)."""
        return self.oauth.refresh()

    def error_from_response(self, response: Response) -> errors.ProviderError:
        """Salla's error envelope as the typed error (see `_errors`)."""
        return _errors.error_from_response(response, provider=self.name)

    def _unsupported(self, feature: Capability, hint: str = "") -> errors.UnsupportedFeature:
        if feature is Capability.VOID_INVOICE and not hint:
            hint = ("Salla invoices cannot be voided: issue a credit note for the order instead, "
                    "create_invoice(InvoiceDraft(kind=InvoiceKind.CREDIT_NOTE, order_id=...))")
        return super()._unsupported(feature, hint)

    # ---- drafts --------------------------------------------------------------------------
    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """Refuse locally what Salla would refuse, naming each field; fill what has a default.

        The rules live in one module of the plugin, shared with its sandbox: `order_id`
        required and digits, SAR only, `document_url` an http(s) URL ending in `.pdf`, a
        data draft with `number`, `subtotal`, `total`, `tax_rate` and `tax` (a missing
        `shipping` or `cash_on_delivery` is filled in as 0), no negative amount. The
        gateway calls this once per create; the operations do not check again.
        """
        return _rules.check_draft(draft)

    # ---- operations ----------------------------------------------------------------------
    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """`POST /orders/invoices` with the draft's `data_type` (multipart for a PDF file)."""
        if _rules.data_type_of(draft) == "file":
            fields, files = _wire.draft_to_form(draft)
            request = Request("POST", "/orders/invoices", data=fields, files=files,
                              operation="create_invoice")
        else:
            request = Request("POST", "/orders/invoices", json=_wire.draft_to_wire(draft),
                              operation="create_invoice")
        response = yield request
        return _wire.read_invoice(response)

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """`GET /orders/invoices/{invoice_id}`."""
        checked = SALLA_ID.check(invoice_id, provider=self.name)
        response = yield Request(
            "GET", "/orders/invoices/{invoice_id}",
            path_params={"invoice_id": PathParam(checked, SALLA_ID)}, operation="get_invoice")
        return _wire.read_invoice(response)

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """One page of `GET /orders/invoices`; the cursor is Salla's page number.

        Salla filters by `from_date`, `to_date` and `order_id`. Its invoices are all
        issued, so a `status` filter is answered locally; `customer_id` and `search` have
        no Salla equivalent and raise `UnsupportedFeature`.
        """
        for name in ("customer_id", "search"):
            if getattr(query, name) is not None:
                raise errors.UnsupportedFeature(
                    f"salla cannot filter invoices by {name}; filter by from_date, to_date "
                    "or order_id", feature=f"list_filter_{name}", provider=self.name)
        page = SALLA_ID.check(cursor, provider=self.name) if cursor is not None else "1"
        params: dict[str, str | int] = {"page": page}
        if query.page_size is not None:
            params["per_page"] = query.page_size
        if query.from_date is not None:
            params["from_date"] = query.from_date.isoformat()
        if query.to_date is not None:
            params["to_date"] = query.to_date.isoformat()
        if query.order_id is not None:
            params["order_id"] = SALLA_ID.check(query.order_id, provider=self.name)
        if query.status not in (None, InvoiceStatus.ISSUED):
            return Page(items=())
        response = yield Request("GET", "/orders/invoices", params=params,
                                 operation="list_invoices")
        return _wire.to_page(response)

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """`POST /orders/{order_id}/send-invoice`: Salla emails the order's invoice.

        Given an `Invoice`, its `order_id` is used; given an id, the invoice is read
        first to find its order (two requests).
        """
        if isinstance(invoice, Invoice):
            if invoice.provider != self.name:
                raise errors.InvalidRequest(
                    f"this invoice belongs to {invoice.provider!r}, not salla", provider=self.name)
            invoice_id = SALLA_ID.check(invoice.id, provider=self.name)
            order_id = invoice.order_id
            recipient = invoice.customer.email if invoice.customer is not None else None
        else:
            invoice_id = SALLA_ID.check(invoice, provider=self.name)
            order_id, recipient = None, None
        if order_id is None:
            found = yield from self.get_invoice(invoice_id)
            if found.order_id is None:
                raise errors.ProviderUnavailable(
                    f"Salla returned invoice {invoice_id} without an order_id; it cannot be "
                    "sent", provider=self.name)
            order_id = found.order_id
        checked_order = SALLA_ID.check(order_id, provider=self.name)
        response = yield Request(
            "POST", "/orders/{order_id}/send-invoice",
            path_params={"order_id": PathParam(checked_order, SALLA_ID)},
            operation="send_invoice")
        data = _wire.read_data(response)
        message = data.get("message") if isinstance(data, Mapping) else None
        raw: dict[str, Any] = data if isinstance(data, dict) else {"data": data}
        return SendReceipt(invoice_id=invoice_id, sent=True, recipient=recipient,
                           message=message if isinstance(message, str) else None, raw=raw)
