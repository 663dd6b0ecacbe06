"""Per-call cost: `get_invoice` over an in-process transport vs `httpx.Client.get` + pydantic.

Both sides use one `httpx.Client` each over the **same** `httpx.MockTransport`, which
answers every request with one fixed payload: no socket, no server, so what is measured
is the client work only. Ours is the whole `get_invoice` call (request built and checked,
the retry/throttle policy, the response decoded exactly and converted into the domain
`Invoice`); the baseline is what an application would write by hand: `client.get(url)`
and a pydantic v2 model's `model_validate_json` of the body (exact `Decimal`s, dates
parsed). Two payloads: Salla's invoice-details answer with 20 items, and a DayZero
`GET /invoices?id=` answer holding one invoice with 20 line items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import baselines
import httpx
import payloads
from _common import Figure, Sizes, interleaved, per_call_ns, ratios

import invoicekit

__all__ = ["run"]

_DZ_BUSINESS = "5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162"
_SALLA_ID = "1128904162"


def _transport(body: bytes) -> httpx.MockTransport:
    headers = {"content-type": "application/json"}
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers,
                                                              content=body))


def _figure(name: str, what: str, ours: Callable[[], Any], base: Callable[[], Any],
            sizes: Sizes) -> Figure:
    calls = max(2, sizes.http_calls)
    a, b, sa, sb = interleaved(lambda: per_call_ns(ours, calls),
                               lambda: per_call_ns(base, calls), sizes.rounds)
    return Figure(name, what, a / 1000, b / 1000, "µs/call",
                  "httpx Client.get + pydantic model_validate_json", "lower", 1.0,
                  round_ratios=ratios(sa, sb),
                  extra={"samples_us": [round(x / 1000, 1) for x in sa],
                         "baseline_samples_us": [round(x / 1000, 1) for x in sb]})


def run(sizes: Sizes) -> list[Figure]:
    figures = []

    salla_body = json.dumps({"status": 200, "success": True,
                             "data": payloads.salla_invoice_wire(20)},
                            ensure_ascii=False).encode()
    transport = _transport(salla_body)
    base_url = "https://api.salla.dev/admin/v2"
    with invoicekit.connect("salla", token="bench-token", http_client=httpx.Client(
            transport=transport)) as gw, httpx.Client(
            transport=transport, base_url=base_url,
            headers={"Authorization": "Bearer bench-token"}) as client:
        def salla_bare() -> Any:
            return baselines.SallaEnvelope.model_validate_json(
                client.get(f"/orders/invoices/{_SALLA_ID}").content)

        assert len(gw.get_invoice(_SALLA_ID).items) == 20
        assert len(salla_bare().data.items) == 20
        figures.append(_figure(
            "overhead.salla_get_invoice_20_items",
            "Salla get_invoice (20 items) over an in-process transport",
            lambda: gw.get_invoice(_SALLA_ID), salla_bare, sizes))

    invoice = payloads.dayzero_invoice(20)
    dz_body = json.dumps({"items": [invoice], "next_cursor": None,
                          "has_more": False}).encode()
    transport = _transport(dz_body)
    wanted = invoice["id"]
    dz_base = "https://api.ondayzero.com/api/v1"
    with invoicekit.connect("dayzero", token="dz_bench", business_id=_DZ_BUSINESS,
                            http_client=httpx.Client(transport=transport)) as gw, httpx.Client(
            transport=transport, base_url=dz_base,
            headers={"Authorization": "Bearer dz_bench", "x-business-id": _DZ_BUSINESS}
    ) as client:
        params = {"id": wanted, "limit": "1"}

        def dz_bare() -> Any:
            return baselines.DzPage.model_validate_json(
                client.get("/invoices", params=params).content)

        assert len(gw.get_invoice(wanted).items) == 20
        assert len(dz_bare().items[0].line_items) == 20
        figures.append(_figure(
            "overhead.dayzero_get_invoice_20_lines",
            "DayZero get_invoice (20 line items) over an in-process transport",
            lambda: gw.get_invoice(wanted), dz_bare, sizes))
    return figures
