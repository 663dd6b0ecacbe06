"""The invoice reader's batched checks and its shared zero (the listing's fast path).

The reader checks the optional texts and the cents in groups, inline; a value of the wrong
type must still be named by its field, the first one in the reader's order when several
are wrong, and every field of a group must be checked, not only the first. Zero is one
`Money` per currency for all invoices: it must be exactly the zero the cents make
(`0.00` in dollars, `0` in yen, `0.000` in dinars).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from dayzero_support import wire_invoice

from invoicekit import Money, Request, Response, errors
from invoicekit_dayzero import _wire


def response(data: Any) -> Response:
    return Response(status=200, headers={"content-type": "application/json"},
                    content=json.dumps(data).encode(), request=Request("GET", "/invoices"),
                    provider="dayzero")


def problem(changes: dict[str, Any]) -> str:
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(wire_invoice(**changes)))
    assert info.value.provider == "dayzero"
    return str(info.value)


@pytest.mark.parametrize(("changes", "message"), [
    # every field of the text group, the last ones included
    ({"customer_id": 5}, "customer_id: expected a string or null, got 5"),
    ({"customer_email": ["a"]}, "customer_email: expected a string or null, got a list of 1"),
    ({"hosted_invoice_url": False}, "hosted_invoice_url: expected a string or null, got False"),
    ({"created_at": 1700000000}, "created_at: expected a string or null, got 1700000000"),
    ({"invoice_number": 12, "number": None},
     "invoice_number: expected a string or null, got 12"),
    # every field of the cents group; a bool is not cents
    ({"subtotal": 1.5}, "subtotal: expected integer cents or null, got 1.5"),
    ({"total_paid": False}, "total_paid: expected integer cents or null, got False"),
    ({"balance_due": "0"}, "balance_due: expected integer cents or null, got '0'"),
    # several wrong: the first in the reader's order (texts, then cents, dates, currency)
    ({"pdf_url": 1, "description": 2}, "description: expected a string or null, got 2"),
    ({"balance_due": "x", "subtotal": "y"}, "subtotal: expected integer cents or null, got 'y'"),
    ({"total": "1", "created_at": 3}, "created_at: expected a string or null, got 3"),
    ({"issue_date": "soon", "total": 1.0}, "total: expected integer cents or null, got 1.0"),
    ({"currency": 5, "due_date": "later"},
     "due_date: expected a YYYY-MM-DD date, got 'later'"),
])
def test_a_wrong_field_in_a_group_is_named(changes: dict[str, Any], message: str) -> None:
    assert f"unusable invoice from DayZero: {message}" in problem(changes)


@pytest.mark.parametrize(("currency", "zero"), [
    ("USD", "0.00"), ("JPY", "0"), ("KWD", "0.000"), ("usd", "0.00"),
])
def test_zero_is_exact_in_each_currency(currency: str, zero: str) -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(
        currency=currency, total_paid=0, line_items=[
            {"description": "Free sample", "quantity": 1, "unit_price": 0, "amount": 0}])))
    code = currency.upper()
    for money in (invoice.amount_paid, invoice.items[0].unit_price, invoice.items[0].total):
        assert money == Money(Decimal(zero), code)
        assert money is not None
        assert str(money.amount) == zero  # the exponent kept
        assert money.currency == code


def test_zero_is_one_money_across_invoices_and_others_are_not() -> None:
    first = _wire.to_invoice(wire_invoice(total_paid=0))
    second = _wire.to_invoice(wire_invoice(total_paid=0))
    assert first.amount_paid == Money(Decimal("0.00"), "USD")
    assert first.amount_paid is second.amount_paid  # immutable, so shared
    # A non-zero amount is built per invoice: no cache makes repeated payloads cheaper.
    assert first.total == second.total == Money(Decimal("376.50"), "USD")
    assert first.total is not second.total
    assert first.total is first.subtotal  # within one invoice, one Money per amount
