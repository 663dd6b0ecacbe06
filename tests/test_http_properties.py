"""Property tests: whatever a provider answers, only `InvoiceKitError`s come out.

Arbitrary statuses, headers, bytes and JSON go through the whole response path (the
retry policy, error mapping, `Response.json`, a provider's naive parser) for a read and
for writes; and straight into `Response`, the default error parser and the throttle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.http_support import ThingsProvider, instant_waits

import invoicekit
from invoicekit import InvoiceDraft, Provider, Request, Response, Throttle, errors
from invoicekit._throttle import parse_retry_after

PROPERTY = settings(max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
# Near-misses of the real shape reach deeper into the parser than random JSON does.
thing_like = st.fixed_dictionaries({}, optional={
    "id": json_values, "number": json_values, "total": json_values,
})
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"data": st.one_of(thing_like, json_values)}),
    st.fixed_dictionaries({"success": json_values, "message": json_values}),
    st.fixed_dictionaries({"message": json_values, "error": json_values,
                           "detail": json_values}),
)
content_types = st.sampled_from([
    None, "application/json", "application/json; charset=utf-8", "text/html",
    "text/plain", "application/problem+json", "application/octet-stream", "",
])
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                      max_size=30)
extra_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                     "X-RateLimit-Reset", "X-Request-Id", "Location"]),
    header_text, max_size=4)


class Answer:
    """What the mock transport answers next."""

    status = 200
    content = b""
    headers: dict[str, str] = {}  # noqa: RUF012 - replaced per example, never mutated


@pytest.fixture(scope="module")
def gateway() -> Iterator[invoicekit.Gateway]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(Answer.status, content=Answer.content, headers=Answer.headers)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    # No throttle: a random Retry-After would otherwise hold later examples back.
    gw = invoicekit.Gateway(ThingsProvider(token="tok_property_123456"),
                            base_url="https://things.example/api", http_client=client,
                            throttle=False, max_retries=1)
    with instant_waits():
        yield gw
    gw.close()
    client.close()


def _outcome(call: Callable[[], object]) -> BaseException | None:
    """The exception *call* raised (`None` if it returned): anything but a typed error
    propagates and fails the property."""
    try:
        call()
    except errors.InvoiceKitError as exc:
        return exc
    return None


def _exercise(gw: invoicekit.Gateway) -> None:
    for call in (lambda: gw.get_invoice("7"),
                 lambda: gw.create_invoice(InvoiceDraft(number="P-1")),
                 lambda: gw.send_invoice("7"),
                 lambda: list(gw.list_invoices())):
        error = _outcome(call)
        # A typed error with a readable message, its status a real HTTP status.
        assert error is None or str(error)
        if isinstance(error, errors.ProviderError) and error.status is not None:
            assert 100 <= error.status <= 599


def _headers(ctype: str | None, extra: dict[str, str]) -> dict[str, str]:
    headers = dict(extra)
    if ctype is not None:
        headers["Content-Type"] = ctype
    return headers


@PROPERTY
@given(status=st.integers(100, 599), body=st.binary(max_size=200), ctype=content_types,
       extra=extra_headers)
def test_arbitrary_bytes_only_ever_give_typed_errors(
        gateway: invoicekit.Gateway, status: int, body: bytes, ctype: str | None,
        extra: dict[str, str]) -> None:
    Answer.status, Answer.content, Answer.headers = status, body, _headers(ctype, extra)
    _exercise(gateway)


@PROPERTY
@given(status=st.sampled_from([200, 201, 400, 404, 409, 422, 429, 500, 502, 503]),
       body=bodies, ctype=content_types, extra=extra_headers)
def test_arbitrary_json_only_ever_gives_typed_errors(
        gateway: invoicekit.Gateway, status: int, body: Any, ctype: str | None,
        extra: dict[str, str]) -> None:
    Answer.status = status
    Answer.content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    Answer.headers = _headers(ctype, extra)
    _exercise(gateway)


@PROPERTY
@given(status=st.integers(100, 599), body=st.binary(max_size=300),
       ctype=content_types, write=st.booleans())
def test_response_helpers_only_raise_typed_errors(
        status: int, body: bytes, ctype: str | None, write: bool) -> None:
    request = Request("POST" if write else "GET", "/things")
    headers = {k.lower(): v for k, v in _headers(ctype, {}).items()}
    response = Response(status=status, headers=headers, content=body, request=request,
                        provider="httpkit")
    for parse in (response.json, response.json_object,
                  lambda: response.json(parse_float=Decimal)):
        error = _outcome(parse)
        if error is not None:
            assert isinstance(error, errors.ProviderUnavailable)
            assert isinstance(error, errors.OutcomeUnknown) is write
            assert error.status == status
    excerpt = response.excerpt()
    assert len(excerpt) <= 301
    error = Provider.error_from_response(ThingsProvider(token="tok_property_123456"), response)
    assert isinstance(error, errors.ProviderError)
    assert error.status == status


def test_deeply_nested_json_is_a_typed_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = Response(status=200, headers={"content-type": "application/json"}, content=body,
                        request=Request("GET", "/things"))
    with pytest.raises(errors.ProviderUnavailable, match="not valid JSON"):
        response.json()
    error = Provider.error_from_response(ThingsProvider(token="tok_property_123456"), response)
    assert error.status == 200


@pytest.mark.parametrize("body", [b"NaN", b'{"total": Infinity}', b'{"a": -Infinity}'])
def test_non_standard_json_constants_are_refused(body: bytes) -> None:
    response = Response(status=200, headers={}, content=body, request=Request("GET", "/x"))
    with pytest.raises(errors.ProviderUnavailable, match="not valid JSON"):
        response.json()


def test_a_utf8_bom_is_tolerated() -> None:
    response = Response(status=200, headers={}, content="\ufeff{\"a\": \"ر.س\"}".encode(),
                        request=Request("GET", "/x"))
    assert response.json() == {"a": "ر.س"}


@PROPERTY
@given(status=st.one_of(st.none(), st.integers(100, 599)), extra=st.dictionaries(
    st.sampled_from(["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                     "x-ratelimit-reset"]), header_text, max_size=4),
    model=st.sampled_from(["window", "leaky"]))
def test_the_throttle_survives_any_headers(status: int | None, extra: dict[str, str],
                                           model: str) -> None:
    t = Throttle(model=model)
    assert t.wait_for(t.enqueue()) == 0.0
    retry_after = t.observe(status, extra)
    assert retry_after is None or (math.isfinite(retry_after) and retry_after >= 0)
    ticket = t.enqueue()
    wait = t.wait_for(ticket)
    assert math.isfinite(wait)
    assert wait >= 0
    assert math.isfinite(ticket.imposed)


@PROPERTY
@given(value=st.one_of(st.none(), st.text(max_size=40)))
def test_retry_after_parsing_never_raises(value: str | None) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
