"""Money and the domain model refuse inexact or ambiguous input."""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
import pytest

from invoicekit import Customer, InvoiceDraft, InvoiceQuery, LineItem, Money, errors


@pytest.mark.parametrize("amount", [0.1, 90.5, 1.0])
def test_float_amount_is_refused_with_a_hint(amount: float) -> None:
    with pytest.raises(errors.InvalidRequest, match="float") as info:
        Money(amount, "USD")  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert repr(str(amount)) in str(info.value)  # it suggests the exact string form


@pytest.mark.parametrize(("amount", "message"), [
    ("NaN", "Money amount must be a finite number, got 'NaN'"),
    ("Infinity", "Money amount must be a finite number, got 'Infinity'"),
    ("-inf", "Money amount must be a finite number, got '-inf'"),
    ("12abc", "Money amount '12abc' is not a number"),
    (True, "Money amount must be a Decimal, int or numeric string, not a bool"),
    (None, "Money amount must be a Decimal, int or numeric string, got NoneType"),
    (b"1", "Money amount must be a Decimal, int or numeric string, got bytes"),
])
def test_non_numbers_are_refused(amount: object, message: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=f"^{re.escape(message)}$"):
        Money(amount, "USD")  # type: ignore[arg-type]


def test_float_quantity_and_tax_rate_are_refused() -> None:
    price = Money("10", "USD")
    with pytest.raises(errors.InvalidRequest, match="quantity"):
        LineItem(name="x", quantity=1.5, unit_price=price)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRequest, match=r"^tax_rate must not be a float \(0\.15\)"):
        LineItem(name="x", quantity=1, unit_price=price, tax_rate=0.15)  # type: ignore[arg-type]


def test_exact_inputs_are_kept_exactly() -> None:
    assert Money("90.50", "USD").amount == Decimal("90.50")
    assert Money(7, "USD").amount == Decimal(7)
    assert Money(Decimal("0.1"), "USD") + Money(Decimal("0.2"), "USD") == Money("0.3", "USD")


@pytest.mark.parametrize("alias", ["ر.س", "ر.س.", "SAR", "sar", " SAR ", "\u20c1"])
def test_riyal_aliases_normalise_to_sar(alias: str) -> None:
    assert Money("1", alias).currency == "SAR"


@pytest.mark.parametrize("code", ["XYZ", "", "RIYAL", "US D"])
def test_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="currency"):
        Money("1", code)


def test_non_string_currency_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest,
                       match=r"^currency must be a string ISO 4217 code, got int$"):
        Money("1", 840)  # type: ignore[arg-type]


def test_arithmetic_across_currencies_is_refused() -> None:
    usd, sar = Money("1", "USD"), Money("1", "SAR")
    with pytest.raises(errors.InvalidRequest, match="USD and SAR"):
        usd + sar
    with pytest.raises(errors.InvalidRequest,
                       match=r"^cannot subtract USD and SAR: convert one currency first$"):
        usd - sar
    with pytest.raises(errors.InvalidRequest,
                       match=r"^cannot compare USD and SAR: convert one currency first$"):
        _ = usd < sar
    assert usd != sar  # equality is allowed and false


def test_arithmetic_with_plain_numbers_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^cannot add Money and int$"):
        Money("1", "USD") + 1  # type: ignore[operator]
    with pytest.raises(TypeError, match=r"^cannot multiply Money by Money$"):
        Money("1", "USD") * Money("2", "USD")
    with pytest.raises(errors.InvalidRequest, match=r"^factor must not be a float \(1\.5\)"):
        Money("1", "USD") * 1.5
    assert Money("1.25", "USD") * 2 == Money("2.50", "USD")


def test_round_is_ambiguous_and_quantize_is_explicit() -> None:
    with pytest.raises(TypeError, match="quantize"):
        round(Money("1.005", "USD"))  # type: ignore[call-overload]
    assert Money("1.005", "USD").quantize() == Money("1.01", "USD")


@pytest.mark.parametrize(("minor", "code", "amount"), [
    (15000, "USD", "150.00"), (1, "KWD", "0.001"), (100, "JPY", "100"), (-250, "SAR", "-2.50"),
])
def test_from_minor_is_exact(minor: int, code: str, amount: str) -> None:
    money = Money.from_minor(minor, code)
    assert money == Money(amount, code)
    assert money.to_minor() == minor


@pytest.mark.parametrize(("minor", "currency", "amount", "code", "exponent"), [
    (12550, "USD", "125.50", "USD", -2),
    (0, "usd", "0.00", "USD", -2),
    (-7, " ر.س ", "-0.07", "SAR", -2),
    (10**40 + 1, "KWD", "1" + "0" * 37 + ".001", "KWD", -3),  # exact past 28 digits
    (5, "JPY", "5", "JPY", 0),
])
def test_from_minor_builds_what_the_constructor_builds(minor: int, currency: str, amount: str,
                                                       code: str, exponent: int) -> None:
    # from_minor skips the converters for values it has already made right; the result must
    # be indistinguishable from a constructed one (same type, same fields, same exponent).
    money = Money.from_minor(minor, currency)
    assert type(money) is Money
    assert repr(money) == f"Money({amount!r}, {code!r})"
    assert (money.amount, money.currency) == (Decimal(amount), code)
    assert money.amount.as_tuple().exponent == exponent
    assert money == Money(amount, code)
    with pytest.raises(attrs.exceptions.FrozenInstanceError) as caught:
        money.amount = Decimal(1)  # type: ignore[misc]
    # attrs' message differs by version ("can't set attribute", or none before 23.2).
    assert type(caught.value) is attrs.exceptions.FrozenInstanceError
    assert money.amount == Decimal(amount)


def test_from_minor_of_a_subclass_is_the_subclass() -> None:
    class Cents(Money):
        pass

    money = Cents.from_minor(250, "SAR")
    assert type(money) is Cents
    assert money.amount == Decimal("2.50")


@pytest.mark.parametrize("minor", [1.5, "100", True, Decimal(1)])
def test_from_minor_needs_an_int(minor: object) -> None:
    with pytest.raises(errors.InvalidRequest, match="int"):
        Money.from_minor(minor, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "code"), [("1.005", "USD"), ("1.5", "JPY"), ("0.0001", "KWD")])
def test_to_minor_raises_instead_of_rounding(amount: str, code: str) -> None:
    money = Money(amount, code)
    assert not money.is_exact_in_minor_units()
    with pytest.raises(errors.InvalidRequest, match="decimal places"):
        money.to_minor()


def test_draft_with_mixed_currencies_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest, match="one currency"):
        InvoiceDraft(total=Money("10", "USD"), tax=Money("1", "SAR"))
    with pytest.raises(errors.InvalidRequest, match="one currency"):
        InvoiceDraft(currency="SAR", items=(
            LineItem(name="a", quantity=1, unit_price=Money("10", "USD")),))


def test_draft_takes_one_document_form() -> None:
    with pytest.raises(errors.InvalidRequest, match="one document form"):
        InvoiceDraft(document_url="https://example.com/a.pdf", from_order=True)


def test_document_pdf_must_be_a_pdf() -> None:
    with pytest.raises(errors.InvalidRequest, match="PDF"):
        InvoiceDraft(document_pdf=b"<html>")


def test_query_validates_page_size_and_dates() -> None:
    import datetime as dt

    with pytest.raises(errors.InvalidRequest, match=r"^page_size must be a positive int, got 0$"):
        InvoiceQuery(page_size=0)
    with pytest.raises(errors.InvalidRequest, match=r"^from_date is after to_date$"):
        InvoiceQuery(from_date=dt.date(2024, 2, 1), to_date=dt.date(2024, 1, 1))


def test_customer_needs_only_a_name_and_email() -> None:
    customer = Customer(name="Noura", email="noura@example.com")
    assert customer.id is None
    assert Customer(id=123).id == "123"  # ids are always str in the model
