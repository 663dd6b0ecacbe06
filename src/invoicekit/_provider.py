"""The sans-IO provider base: what a provider plugin subclasses.

A provider never performs I/O. Each operation is a generator that *yields* `Request`
objects and receives `Response` objects back, then *returns* its result:

```python
def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
    invoice_id = SALLA_ID.check(invoice_id, provider=self.name)
    param = PathParam(invoice_id, SALLA_ID)
    response = yield Request("GET", "/orders/invoices/{id}", path_params={"id": param})
    return to_invoice(response.json())
```

The core's sync and async gateways drive the same generator (the sync one with
`httpx.Client`, the async one with `httpx.AsyncClient`), so a provider gets both with one
copy of its code. A provider that needs no network (the fake) yields nothing at all.

An operation the provider does not override raises `UnsupportedFeature`; the gateway's
`capabilities` are derived from which operations a provider overrides plus the
`features` it declares, so the documented capability matrix is generated from code.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias, TypeVar

import attrs

from . import errors
from ._model import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceQuery,
    Page,
    SendOptions,
    SendReceipt,
)
from ._secrets import Secret

__all__ = [
    "DraftProblems",
    "IdPattern",
    "Operation",
    "PathParam",
    "Provider",
    "Request",
    "Response",
    "done",
]

T = TypeVar("T")
Operation: TypeAlias = Generator["Request", "Response", T]
"""A provider operation: yields `Request`s, receives `Response`s, returns a `T`."""

_MAX_ID_LENGTH = 64


@attrs.frozen(slots=True)
class IdPattern:
    """The form a provider's ids take (`[0-9]+` for Salla, a UUID for DayZero).

    `check()` refuses anything else before it can reach a URL: path separators, dots,
    percent-escapes, whitespace, CR/LF and non-ASCII digits never match.
    """

    label: str
    regex: str
    max_length: int = _MAX_ID_LENGTH
    _compiled: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.regex, re.ASCII))

    def matches(self, value: object) -> bool:
        """Whether *value* is a `str` of this form."""
        return (
            isinstance(value, str)
            and len(value) <= self.max_length
            and self._compiled.fullmatch(value) is not None
        )

    def check(self, value: object, *, provider: str | None = None) -> str:
        """Return *value* (an int is accepted and turned into `str`) or raise `InvalidRequest`."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not self.matches(value):
            shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
            raise errors.InvalidRequest(f"{shown} is not a valid {self.label}", provider=provider)
        assert isinstance(value, str)
        return value


class DraftProblems:
    """Every reason a draft is refused, by field, then one `InvalidRequest` naming them all.

    The one way a provider's `check_draft` reports problems, so every plugin refuses a
    draft the same way: the caller (and migration planning) sees each field at once in
    `InvalidRequest.fields`, not one problem per attempt.

    ```python
    problems = DraftProblems("acme")
    if draft.due_date is None:
        problems.add("due_date", "Acme needs a due date")
    problems.raise_if_any()
    ```
    """

    __slots__ = ("fields", "provider")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, text: str) -> None:
        """Record that *field* is refused, and why (a field may collect several reasons)."""
        self.fields.setdefault(field, []).append(text)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        """Raise `InvalidRequest` naming every recorded problem; do nothing if there is none."""
        if self.fields:
            listing = "; ".join(f"{field}: {' '.join(texts)}"
                                for field, texts in self.fields.items())
            raise errors.InvalidRequest(f"draft refused before sending: {listing}",
                                        provider=self.provider, fields=self.fields)


@attrs.frozen(slots=True)
class PathParam:
    """A value for a `{name}` in a request path, with the id form it must have."""

    value: str
    pattern: IdPattern


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@attrs.frozen(slots=True)
class Request:
    """A request described by a provider, executed by the core.

    `path` is a template (`/orders/invoices/{invoice_id}`): it is what logs and hooks
    show, and each `{name}` is filled from `path_params` only after the value matches
    its declared `IdPattern`. `files` makes a multipart body (with `data` as its form
    fields). `absolute_url` sends to another host (an OAuth token endpoint) instead of
    the gateway's `base_url`. A request is a *write* when its method is not GET/HEAD,
    unless `write=` says otherwise.
    """

    method: str
    path: str
    path_params: Mapping[str, PathParam] = attrs.field(factory=dict)
    params: Mapping[str, str | int] | None = None
    # Bodies and headers stay out of `repr()`: it appears in tracebacks with locals.
    json: Any = attrs.field(default=None, repr=False)
    data: Mapping[str, str | Secret] | None = attrs.field(default=None, repr=False)
    files: Mapping[str, tuple[str, bytes, str]] | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    absolute_url: str | None = None
    authenticated: bool = True
    write: bool | None = None
    operation: str = ""

    @property
    def is_write(self) -> bool:
        """Whether repeating this request could repeat a side effect."""
        if self.write is not None:
            return self.write
        return self.method.upper() in _WRITE_METHODS

    def render_path(self) -> str:
        """The path with each parameter checked against its pattern and percent-quoted.

        The template itself must be a plain path (`/orders/{id}/send`): no `.`/`..`
        segments, `%`-escapes, query, fragment, whitespace or non-ASCII. A provider that
        formats a caller's value into `path` itself, instead of declaring a `PathParam`,
        is caught here when that value tries anything but plain characters.
        """
        path = self.path
        pieces = _template_pieces(path) if isinstance(path, str) else None
        if pieces is None:
            raise errors.InvalidRequest(
                f"refusing to build a URL from the path {str(path)[:120]!r}: only plain "
                "segments and {name} parameters are allowed")
        path_params = self.path_params
        names = set(pieces[1::2])
        if names != set(path_params):
            raise errors.InvalidRequest(
                f"path {path!r} needs parameters {sorted(names)}, "
                f"got {sorted(path_params)}"
            )
        values: dict[str, str] = {}
        for name, param in path_params.items():
            if not isinstance(param, PathParam):
                raise errors.InvalidRequest(
                    f"path parameter {name!r} must be a PathParam (a value with its IdPattern)")
            checked = param.pattern.check(param.value)
            values[name] = urllib.parse.quote(checked, safe="")
        if len(pieces) == 1:
            return path
        return "".join([piece if i % 2 == 0 else values[piece]
                        for i, piece in enumerate(pieces)])


# A path template: "/" then RFC 3986 path characters (no "%", "?", "#") and {name}s.
_TEMPLATE = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|\{\w+\})*)*/?", re.ASCII)
_PLACEHOLDER = re.compile(r"\{(\w+)\}", re.ASCII)


@functools.lru_cache(maxsize=1024)
def _template_pieces(path: str) -> tuple[str, ...] | None:
    """*path* split into literal text and parameter names, alternately (`"/a/{id}/b"` ->
    `("/a/", "id", "/b")`); `None` if it is not a plain path template. A provider uses a
    handful of templates, so each is checked once, not on every request."""
    if not _TEMPLATE.fullmatch(path) or any(
            segment in (".", "..") for segment in path.split("/")):
        return None
    return tuple(_PLACEHOLDER.split(path))


@attrs.frozen(slots=True)
class Response:
    """What came back: status, headers (lower-case names), the body bytes, timing."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    request: Request
    provider: str = ""
    elapsed: float = 0.0
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def excerpt(self, limit: int = 300) -> str:
        """A short, printable start of the body for error messages."""
        from ._secrets import redact

        text = self.content[:limit].decode("utf-8", errors="replace")
        text = " ".join(text.split())
        return redact(text) + ("…" if len(self.content) > limit else "")

    def malformed(self, why: str, cause: BaseException | None = None) -> errors.ProviderUnavailable:
        """The typed error for a body that is not what the API documents."""
        cls = errors.OutcomeUnknown if self.request.is_write else errors.ProviderUnavailable
        message = f"{why} (HTTP {self.status}, body: {self.excerpt() or '<empty>'})"
        if self.request.is_write:
            message += "; the write may or may not have happened"
        err = cls(
            message,
            provider=self.provider or None,
            status=self.status,
            raw=self.excerpt(),
            request_id=self.request_id,
        )
        if cause is not None:
            err.__cause__ = cause
        return err

    def json(self, *, parse_float: Callable[[str], Any] | None = None) -> Any:
        """The body decoded as JSON, or `ProviderUnavailable` (`OutcomeUnknown` for a write).

        `parse_float=decimal.Decimal` reads JSON numbers with a fraction exactly, never
        through a binary float (providers that send amounts as JSON numbers).

        Refused: an empty body, a content type that is not JSON (an HTML error page from a
        proxy), bytes that are not UTF-8 JSON, `NaN`/`Infinity`, and nesting deep enough to
        exhaust the parser.
        """
        content = self.content
        if not content or content.isspace():
            raise self.malformed("empty response body where JSON was expected")
        ctype = self.headers.get("content-type", "")
        if ctype and "json" not in ctype.lower():
            raise self.malformed(f"expected a JSON response, got content type {ctype!r}")
        if parse_float is None or parse_float is Decimal:
            if content.startswith(_BOM):
                content = content[len(_BOM):]
            try:
                return _fast_decoder(parse_float).decode(content)
            except Exception:  # noqa: S110
                # Whatever msgspec refuses (its errors are ValueErrors only since 0.19;
                # nesting too deep is a RecursionError), `json` below has the last word:
                # msgspec refuses a little more than `json` (a lone surrogate escape, a
                # float beyond the double range), so what is accepted, and each error,
                # are exactly those of `json`.
                pass
        try:
            return json.loads(self.content.decode("utf-8-sig"), parse_float=parse_float,
                              parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise self.malformed("response body is not valid JSON", exc) from exc

    def json_object(self, *, parse_float: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """The body as a JSON object (a `dict`), or the typed error."""
        data = self.json(parse_float=parse_float)
        if not isinstance(data, dict):
            raise self.malformed(f"expected a JSON object, got {type(data).__name__}")
        return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_BOM = b"\xef\xbb\xbf"
_decoders: dict[Any, Any] = {}


def _fast_decoder(parse_float: Callable[[str], Any] | None) -> Any:
    """msgspec's JSON decoder, reading fractions with *parse_float* (`None` or `Decimal`).

    About twice as fast as `json.loads(..., parse_float=Decimal)` on a provider's answer
    (docs/performance.md). It reads UTF-8 bytes directly (no `str` copy), refuses
    `NaN`/`Infinity` and invalid UTF-8, and hands each fraction's text to the hook, so
    a `Decimal` is as exact as with `json`. Made on first use: `import invoicekit`
    does not load msgspec.
    """
    decoder = _decoders.get(parse_float)
    if decoder is None:
        import msgspec

        decoder = _decoders[parse_float] = msgspec.json.Decoder(float_hook=parse_float)
    return decoder


# Which capability each overridable operation provides.
_OPERATION_CAPABILITIES: dict[str, Capability] = {
    "create_invoice": Capability.CREATE_INVOICE,
    "get_invoice": Capability.GET_INVOICE,
    "list_page": Capability.LIST_INVOICES,
    "send_invoice": Capability.SEND_INVOICE,
    "void_invoice": Capability.VOID_INVOICE,
    "finalize_invoice": Capability.FINALIZE_INVOICE,
    "get_pdf_url": Capability.PDF_URL,
    "create_customer": Capability.CREATE_CUSTOMER,
}


_class_capabilities: weakref.WeakKeyDictionary[
    type, tuple[frozenset[Capability], frozenset[Capability]]] = weakref.WeakKeyDictionary()


class Provider:
    """Base of every provider: default-deny operations, derived capabilities.

    Subclass it, set `name`, override the operations the platform supports, and list
    in `features` the draft and send options it honours (credit notes, cc, PDF...).
    Settings arrive as keyword arguments of `__init__`; keep secrets in `Secret`.
    """

    name: ClassVar[str] = ""
    """The registry name (`connect(name)`)."""
    default_base_url: ClassVar[str | None] = None
    """Where the real API lives; `None` for a provider that makes no HTTP requests."""
    features: ClassVar[frozenset[Capability]] = frozenset()
    """Draft and send options honoured (CREDIT_NOTE, SEND_CC, ...)."""
    rate_limit_model: ClassVar[str] = "window"
    """How the provider's rate-limit headers behave: `"window"` or `"leaky"` (bucket)."""
    distribution: ClassVar[str] = "invoicekit"
    """The installed distribution, for the `User-Agent` and `invoicekit providers`."""
    requires_order_id: ClassVar[bool] = False
    """Whether every invoice created here must name an existing order (`order_id`), as on
    Salla. Migration reads it to know that a target needs an order mapping."""

    # ---- capabilities -------------------------------------------------------------
    @classmethod
    def class_capabilities(cls) -> frozenset[Capability]:
        """Capabilities of this provider class: overridden operations plus `features`.

        Computed once per class (every gateway call checks a capability) and again if
        `features` is replaced.
        """
        cached = _class_capabilities.get(cls)
        if cached is not None and cached[0] is cls.features:
            return cached[1]
        found = {
            cap
            for method, cap in _OPERATION_CAPABILITIES.items()
            if getattr(cls, method) is not getattr(Provider, method)
        }
        result = frozenset(found) | cls.features
        _class_capabilities[cls] = (cls.features, result)
        return result

    @property
    def capabilities(self) -> frozenset[Capability]:
        """This instance's capabilities (a fake's profile may narrow the class's)."""
        return self.class_capabilities()

    def _unsupported(self, feature: Capability, hint: str = "") -> errors.UnsupportedFeature:
        text = f"{self.name} does not support {feature.value.replace('_', ' ')}"
        return errors.UnsupportedFeature(
            f"{text}; {hint}" if hint else text, feature=feature.value, provider=self.name
        )

    # ---- settings, auth and errors (overridable hooks) ----------------------------
    def secrets(self) -> Iterable[str]:
        """Secret values to keep out of logs (tokens, client secrets)."""
        return ()

    def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a request (`Authorization`, ...)."""
        return {}

    def default_headers(self) -> Mapping[str, str]:
        """Headers on every request besides auth (language, tenant ids...)."""
        return {}

    @property
    def auth_generation(self) -> int:
        """Changes whenever credentials change; lets concurrent callers refresh once."""
        return 0

    def needs_refresh(self) -> bool:
        """Whether credentials should be refreshed before the next request."""
        return False

    def can_refresh(self) -> bool:
        """Whether a 401 may be answered by refreshing credentials once."""
        return False

    def refresh(self) -> Operation[None]:
        """Refresh credentials (an OAuth token request). Called under the gateway's lock.

        Its requests must be `authenticated=False`: they are what makes credentials valid,
        so they cannot wait for valid credentials themselves.
        """
        raise self._unsupported(Capability.GET_INVOICE, "credentials cannot be refreshed")

    def error_from_response(self, response: Response) -> errors.ProviderError:
        """Turn an error response into the typed error. Override for the provider's shape;
        this default reads a few common shapes and never raises."""
        message = None
        data: Any = None
        try:
            data = json.loads(response.content.decode("utf-8-sig")) if response.content else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            for key in ("message", "error", "detail"):
                if isinstance(data.get(key), str):
                    message = data[key]
                    break
        cls = errors.error_for_status(response.status)
        return cls(
            message or f"HTTP {response.status}: {response.excerpt() or 'no body'}",
            provider=self.name,
            status=response.status,
            raw=data if data is not None else response.excerpt(),
            request_id=response.request_id,
        )

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """Refuse locally a draft the provider would refuse; return it (possibly normalised).

        The gateway calls this before `create_invoice`, and migration planning calls it to
        classify what can be carried. Raise `InvalidRequest` or `UnsupportedFeature`.
        """
        return draft

    def check_features(self, draft: InvoiceDraft) -> None:
        """Refuse a draft that needs a capability this provider lacks."""
        caps = self.capabilities
        needs = []
        if draft.kind is InvoiceKind.CREDIT_NOTE:
            needs.append(Capability.CREDIT_NOTE)
        if draft.from_order:
            needs.append(Capability.FROM_ORDER)
        if draft.document_url is not None:
            needs.append(Capability.DOCUMENT_URL)
        if draft.document_pdf is not None:
            needs.append(Capability.DOCUMENT_PDF)
        for cap in needs:
            if cap not in caps:
                raise self._unsupported(cap)

    # ---- operations: default-deny --------------------------------------------------
    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """Create an invoice from *draft* (already checked by `check_draft`)."""
        raise self._unsupported(Capability.CREATE_INVOICE)

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """Fetch one invoice by id."""
        raise self._unsupported(Capability.GET_INVOICE)

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """Fetch one page of invoices; `cursor` is `None` for the first page."""
        raise self._unsupported(Capability.LIST_INVOICES)

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """Send *invoice* to its customer."""
        raise self._unsupported(Capability.SEND_INVOICE)

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Void an invoice."""
        raise self._unsupported(Capability.VOID_INVOICE)

    def finalize_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Finalize a draft invoice (assigns its number)."""
        raise self._unsupported(Capability.FINALIZE_INVOICE)

    def get_pdf_url(self, invoice: Invoice | str) -> Operation[str]:
        """A (possibly expiring) URL of the invoice's PDF."""
        raise self._unsupported(Capability.PDF_URL)

    def create_customer(self, customer: Customer) -> Operation[Customer]:
        """Create a customer and return it with its new id."""
        raise self._unsupported(Capability.CREATE_CUSTOMER)

    def close(self) -> None:
        """Release provider-held resources (the fake's store, nothing for HTTP providers)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def done(value: T) -> Operation[T]:
    """An operation that makes no request and returns *value* (for in-memory providers)."""
    yield from ()
    return value
