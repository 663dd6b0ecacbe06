"""Conversion: provider JSON -> domain `Invoice`, and domain draft -> wire JSON.

Ours goes through the plugins' own wire functions (`invoicekit_salla._wire.to_invoice`,
`invoicekit_dayzero._wire.to_invoice`, DayZero's one reader); the baseline validates
the same decoded payload into an equivalent pydantic v2 model. Ours does more (it also
builds the domain model: `Money`, normalised currency, kinds and statuses), and is held to
"no slower" anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import baselines
import payloads
from _common import Figure, Sizes, interleaved, per_call_ns, ratios

from invoicekit.provider import json_body

__all__ = ["run"]


def _figure(name: str, what: str, ours: Callable[[], Any], base: Callable[[], Any],
            sizes: Sizes, baseline_name: str, calls: int) -> Figure:
    a, b, sa, sb = interleaved(lambda: per_call_ns(ours, calls),
                               lambda: per_call_ns(base, calls), sizes.rounds)
    return Figure(name, what, a / 1000, b / 1000, "µs/call", baseline_name, "lower", 1.0,
                  round_ratios=ratios(sa, sb),
                  extra={"samples_us": [round(x / 1000, 2) for x in sa],
                         "baseline_samples_us": [round(x / 1000, 2) for x in sb]})


def _same(ours: bytes, base: bytes) -> bool:
    """Whether two bodies say the same (pydantic writes a Decimal as a string, we as a number)."""
    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return str(value)
    return bool(norm(payloads.decode(ours)) == norm(payloads.decode(base)))


def run(sizes: Sizes) -> list[Figure]:
    from invoicekit_dayzero import _rules as dz_rules
    from invoicekit_dayzero import _wire as dz
    from invoicekit_salla import _wire as salla

    figures = []
    for n in (1, 20, 200):
        data = payloads.salla_invoice(n)
        assert salla.to_invoice(data).items[-1].unit_price.currency == "SAR"
        assert len(baselines.SallaInvoice.model_validate(data).items) == n
        calls = max(2, sizes.conversion_calls // n)
        figures.append(_figure(
            f"conversion.salla_invoice_{n}_item{'s' if n > 1 else ''}",
            f"Salla invoice-details payload, {n} item(s) -> Invoice",
            lambda data=data: salla.to_invoice(data),  # type: ignore[misc]
            lambda data=data: baselines.SallaInvoice.model_validate(data),  # type: ignore[misc]
            sizes, "pydantic v2 model_validate", calls))

    dz_data = payloads.dayzero_invoice(3)

    def dz_ours() -> Any:
        return dz.to_invoice(dz_data)

    assert dz_ours().total is not None
    figures.append(_figure(
        "conversion.dayzero_invoice", "DayZero invoice payload (3 line items) -> Invoice",
        dz_ours, lambda: baselines.DzInvoice.model_validate(dz_data), sizes,
        "pydantic v2 model_validate", sizes.conversion_calls))

    s_draft = payloads.salla_draft()
    assert _same(json_body(salla.draft_to_wire(s_draft)), baselines.salla_body(s_draft))
    figures.append(_figure(
        "unstructure.salla_draft", "Salla data draft -> create body JSON bytes",
        lambda: json_body(salla.draft_to_wire(s_draft)),
        lambda: baselines.salla_body(s_draft), sizes,
        "pydantic v2 model + model_dump_json", sizes.conversion_calls))

    d_draft = payloads.dayzero_draft(3)
    cid = payloads.DAYZERO_CUSTOMER_ID
    assert _same(json_body(dz.invoice_body(d_draft, cid)), baselines.dayzero_body(d_draft, cid))
    dz_check = dz_rules.check_draft
    figures.append(_figure(
        "unstructure.dayzero_draft", "DayZero draft (3 items) -> create body JSON bytes "
        "(ours also runs DayZero's draft checks)",
        lambda: json_body(dz.invoice_body(dz_check(d_draft), cid)),
        lambda: baselines.dayzero_body(d_draft, cid), sizes,
        "pydantic v2 model + model_dump_json", sizes.conversion_calls))
    return figures
