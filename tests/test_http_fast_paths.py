"""The per-call fast paths keep the behaviour of the paths they replace.

`Response.json` decodes with msgspec and lets `json` decide whatever msgspec refuses; the
engine keeps merged headers, path templates and capabilities between calls. Each test
checks a case where a cache or the faster decoder could answer differently from the
plain code: a value that changed since the last call, an input only one decoder accepts.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Mapping
from decimal import Decimal

import httpx
import pytest
from tests.http_support import ThingsProvider, mock_gateway

import invoicekit
from invoicekit import Capability, PathParam, Request, Response, errors
from invoicekit.provider import IdPattern

DIGITS = IdPattern("digits", r"[0-9]+")


def _response(body: bytes, ctype: str = "application/json") -> Response:
    return Response(status=200, headers={"content-type": ctype}, content=body,
                    request=Request("GET", "/x"))


def test_fractions_are_exact_decimals_and_large_integers_stay_integers() -> None:
    data = _response(b'{"a": 90.50, "b": 12345678901234567890123, "c": 1E2, "d": -0.0}'
                     ).json(parse_float=Decimal)
    assert data == {"a": Decimal("90.50"), "b": 12345678901234567890123,
                    "c": Decimal("1E+2"), "d": Decimal("-0.0")}
    assert str(data["a"]) == "90.50"  # the exponent survives: no trip through float
    assert type(data["b"]) is int


def test_a_bom_is_stripped_before_the_fast_decoder() -> None:
    body = "\ufeff{\"total\": 188.30, \"currency\": \"ر.س\"}".encode()
    assert _response(body).json(parse_float=Decimal) == {"total": Decimal("188.30"),
                                                          "currency": "ر.س"}


def test_what_only_json_accepts_is_still_accepted() -> None:
    # msgspec refuses a lone surrogate escape and a float beyond the double range;
    # `json` reads both, and so did Response.json before: the answer is json's.
    assert _response(b'{"a": "\\ud800"}').json() == {"a": "\ud800"}
    assert _response(b"[1e400]").json() == [float("inf")]
    assert _response(b"[1e400]").json(parse_float=Decimal) == [Decimal("1E+400")]


@pytest.mark.parametrize("body", [b'{"a": 1', b'{"a": 1} x', b'"\xff\xfe"', b"[NaN]",
                                  b'{"a": "\x01"}'])
def test_malformed_json_is_the_typed_error_of_json(body: bytes) -> None:
    with pytest.raises(errors.ProviderUnavailable, match="response body is not valid JSON"
                       ) as caught:
        _response(body).json(parse_float=Decimal)
    assert isinstance(caught.value.__cause__, ValueError)  # json's own error is chained
    assert caught.value.status == 200


def test_a_custom_parse_float_is_still_honoured() -> None:
    assert _response(b"[1.25]").json(parse_float=lambda text: f"<{text}>") == ["<1.25>"]


def test_path_templates_are_checked_on_every_call_and_filled_with_each_value() -> None:
    template = "/things/{thing_id}/send"
    for value in ("1", "22", "333"):
        req = Request("GET", template, path_params={"thing_id": PathParam(value, DIGITS)})
        assert req.render_path() == f"/things/{value}/send"
    bad = Request("GET", template, path_params={"thing_id": PathParam("1/../2", DIGITS)})
    with pytest.raises(errors.InvalidRequest, match="is not a valid digits"):
        bad.render_path()
    for _ in range(2):  # a refused template is refused again, not remembered as good
        with pytest.raises(errors.InvalidRequest, match="refusing to build a URL"):
            Request("GET", "/things/../admin").render_path()
    with pytest.raises(errors.InvalidRequest, match=r"needs parameters \['a', 'b'\]"):
        Request("GET", "/{a}/{b}", path_params={"a": PathParam("1", DIGITS)}).render_path()
    twice = Request("GET", "/{a}/x/{a}", path_params={"a": PathParam("7", DIGITS)})
    assert twice.render_path() == "/7/x/7"


class _Rotating(ThingsProvider):
    """Its token and language change between calls, as after a refresh."""

    def __init__(self) -> None:
        super().__init__(token="tok_first_0123456789")
        self.token = "tok_first_0123456789"
        self.language = "en"

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def default_headers(self) -> Mapping[str, str]:
        return {"Accept-Language": self.language}


def test_headers_follow_the_provider_and_the_client_from_call_to_call() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={"data": {"id": 7, "number": "A-7", "total": "1.50"}})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    provider = _Rotating()
    with invoicekit.Gateway(provider, http_client=client,
                            base_url="https://things.example/api") as gw:
        gw.get_invoice("7")
        provider.token = "tok_second_0123456789"
        provider.language = "ar"
        gw.get_invoice("7")
        client.headers["X-Tenant"] = "acme"
        gw.get_invoice("7")
        provider.language = "ar\r\nX-Evil: 1"
        with pytest.raises(errors.InvalidRequest, match="refusing to send header"):
            gw.get_invoice("7")
    assert [h["authorization"] for h in seen] == [
        "Bearer tok_first_0123456789", "Bearer tok_second_0123456789",
        "Bearer tok_second_0123456789"]
    assert [h["accept-language"] for h in seen] == ["en", "ar", "ar"]
    assert [h.get("x-tenant") for h in seen] == [None, None, "acme"]
    assert len(seen) == 3  # the refused header never reached the transport


def test_a_client_with_cookies_still_sends_them() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": 7, "number": "A-7", "total": "1.50"}},
                              headers={"set-cookie": "session=abc; Path=/"})

    with mock_gateway(handler) as gw:
        gw.get_invoice("7")
        gw.get_invoice("7")
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "session=abc"


def test_capabilities_follow_a_replaced_features_set() -> None:
    class Narrow(ThingsProvider):
        features = frozenset({Capability.SEND_CC})

    assert Capability.SEND_PDF not in Narrow.class_capabilities()
    Narrow.features = frozenset({Capability.SEND_PDF})
    assert Capability.SEND_PDF in Narrow.class_capabilities()
    assert Capability.SEND_CC not in Narrow.class_capabilities()
    assert Capability.GET_INVOICE in Narrow.class_capabilities()


def test_a_response_and_its_body_are_freed_without_the_cycle_collector() -> None:
    # httpx binds each response's stream back to the response (a reference cycle); the
    # runner drops that stream once the body is read, so a listing does not keep pages
    # of bodies alive until the cyclic collector happens to run.
    answered: list[weakref.ref[httpx.Response]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {"id": 7, "number": "A-7", "total": "1.50"}})

    def keep(response: httpx.Response) -> None:
        answered.append(weakref.ref(response))

    client = httpx.Client(transport=httpx.MockTransport(handler),
                          event_hooks={"response": [keep]})
    gc.disable()
    try:
        with invoicekit.Gateway(ThingsProvider(token="tok_cycle_0123456789"),
                                http_client=client, base_url="https://things.example/api") as gw:
            invoice = gw.get_invoice("7")
            assert invoice.number == "A-7"
            assert len(answered) == 1
            assert answered[0]() is None
    finally:
        gc.enable()
