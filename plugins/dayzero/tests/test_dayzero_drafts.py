"""`check_draft`: what DayZero would refuse is refused locally, before any request, saying why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from dayzero_support import CUSTOMER_ID, Recorder, make_draft

import invoicekit
from invoicekit import Customer, InvoiceDraft, InvoiceKind, LineItem, Money, errors


def refused(gw: invoicekit.Gateway, draft: InvoiceDraft) -> errors.InvalidRequest:
    with pytest.raises(errors.InvalidRequest) as info:
        gw.create_invoice(draft)
    return info.value


def test_a_good_draft_passes(mock_gw: invoicekit.Gateway) -> None:
    draft = make_draft(3)
    assert mock_gw.check_draft(draft) is draft
    for currency in ("USD", "CAD", "AUD", "EUR", "GBP"):
        mock_gw.check_draft(make_draft(1, currency=currency))


def test_sar_is_refused(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    err = refused(mock_gw, make_draft(1, currency="SAR"))
    assert "SAR invoice cannot be created on DayZero" in str(err)
    assert list(err.fields) == ["currency"]
    assert recorder.requests == []


def test_fractional_quantity(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    item = LineItem(name="Half day", quantity=Decimal("1.5"), unit_price=Money("100", "USD"))
    err = refused(mock_gw, make_draft(1, items=(item,)))
    assert "whole numbers; 1.5 is fractional" in err.fields["items.0.quantity"][0]
    assert recorder.requests == []


def test_integral_decimal_quantity_is_fine(mock_gw: invoicekit.Gateway) -> None:
    item = LineItem(name="Two", quantity=Decimal("2.000"), unit_price=Money("1", "USD"))
    mock_gw.check_draft(make_draft(1, items=(item,)))


def test_sub_cent_amount(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    item = LineItem(name="Tiny", quantity=1, unit_price=Money("0.005", "USD"))
    err = refused(mock_gw, make_draft(1, items=(item,)))
    assert "fraction of a cent" in err.fields["items.0.unit_price"][0]
    assert recorder.requests == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"due_date": None}, "due_date"),
    ({"items": ()}, "items"),
    ({"customer": None}, "customer"),
    ({"customer": Customer(name="No Email")}, "customer"),
    ({"customer": Customer(id="42")}, "customer.id"),
    ({"number": "INV-9"}, "number"),
    ({"order_id": "1001"}, "order_id"),
    ({"tax": Money("15", "USD")}, "tax"),
    ({"tax_rate": Decimal("15")}, "tax_rate"),
    ({"shipping": Money("5", "USD")}, "shipping"),
    ({"total": Money("1", "USD")}, "total"),
])
def test_refusals_name_the_field(mock_gw: invoicekit.Gateway, recorder: Recorder,
                                 changes: dict[str, Any], field: str) -> None:
    err = refused(mock_gw, make_draft(1, **changes))
    assert field in err.fields
    assert err.provider == "dayzero"
    assert recorder.requests == []


def test_every_problem_is_reported_at_once(mock_gw: invoicekit.Gateway) -> None:
    item = LineItem(name="x", quantity=Decimal("0.5"), unit_price=Money("1.001", "GBP"))
    err = refused(mock_gw, make_draft(1, items=(item,), due_date=None,
                                      customer=Customer(id=CUSTOMER_ID)))
    assert set(err.fields) == {"due_date", "items.0.quantity", "items.0.unit_price"}


def test_consistent_totals_and_zero_tax_are_accepted(mock_gw: invoicekit.Gateway) -> None:
    items = (LineItem(name="a", quantity=2, unit_price=Money("10.25", "USD"),
                      total=Money("20.50", "USD"), tax=Money("0", "USD")),)
    mock_gw.check_draft(make_draft(1, items=items, total=Money("20.50", "USD"),
                                   subtotal=Money("20.5", "USD"), tax_rate=Decimal(0),
                                   issue_date=dt.date(2031, 1, 1)))


def test_credit_notes_and_documents_are_unsupported(mock_gw: invoicekit.Gateway,
                                                    recorder: Recorder) -> None:
    with pytest.raises(errors.UnsupportedFeature) as info:
        mock_gw.create_invoice(make_draft(1, kind=InvoiceKind.CREDIT_NOTE))
    assert info.value.feature == "credit_note"
    with pytest.raises(errors.UnsupportedFeature,
                       match=r"^dayzero: dayzero does not support document url$"):
        mock_gw.create_invoice(make_draft(1, document_url="https://x.example/a.pdf"))
    with pytest.raises(errors.UnsupportedFeature,
                       match=r"^dayzero: dayzero does not support from order$"):
        mock_gw.create_invoice(make_draft(1, from_order=True))
    assert recorder.requests == []


def test_provider_check_is_usable_without_a_gateway() -> None:
    """Migration planning and tools ask the provider directly: features, then the rules."""
    from invoicekit_dayzero import DayZeroProvider

    provider = DayZeroProvider(token="dz_x123", business_id=CUSTOMER_ID)
    with pytest.raises(errors.UnsupportedFeature) as unsupported:
        provider.check_features(make_draft(1, kind=InvoiceKind.CREDIT_NOTE))
    assert unsupported.value.feature == "credit_note"
    with pytest.raises(errors.InvalidRequest) as invalid:
        provider.check_draft(make_draft(1, currency="SAR"))
    assert list(invalid.value.fields) == ["currency"]


# ---- one check per create ------------------------------------------------------------------
def _counting(monkeypatch: pytest.MonkeyPatch) -> list[InvoiceDraft]:
    """Record every call of DayZero's one draft check (`_rules.check_draft`)."""
    from invoicekit_dayzero import _rules

    seen: list[InvoiceDraft] = []
    real = _rules.check_draft

    def counting(draft: InvoiceDraft) -> InvoiceDraft:
        seen.append(draft)
        return real(draft)

    monkeypatch.setattr(_rules, "check_draft", counting)
    return seen


def test_a_create_checks_the_draft_once(gw: invoicekit.Gateway,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting(monkeypatch)
    draft = make_draft(3)  # a new customer: two requests, still one check
    invoice = gw.create_invoice(draft)
    assert seen == [draft]
    assert invoice.total == Money("761.00", "USD")  # 125.50 + 2 x 126.50 + 3 x 127.50
    with pytest.raises(errors.InvalidRequest) as info:
        gw.create_invoice(make_draft(1, currency="SAR"))
    assert info.value.fields == {"currency": [
        "DayZero invoices can only be in USD, CAD, AUD, EUR, GBP; a SAR invoice cannot be "
        "created on DayZero (convert the amounts first)"]}
    assert len(seen) == 2


@pytest.mark.anyio
async def test_an_async_create_checks_the_draft_once(agw: invoicekit.AsyncGateway,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting(monkeypatch)
    draft = make_draft(1)
    await agw.create_invoice(draft)
    assert seen == [draft]


def test_features_are_refused_before_the_rules_run(mock_gw: invoicekit.Gateway,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting(monkeypatch)
    with pytest.raises(errors.UnsupportedFeature) as info:
        mock_gw.create_invoice(make_draft(1, kind=InvoiceKind.CREDIT_NOTE))
    assert (info.value.provider, info.value.feature) == ("dayzero", "credit_note")
    assert seen == []
