"""Money and the domain model refuse inexact or ambiguous input."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from invoicekit import Customer, InvoiceDraft, InvoiceQuery, LineItem, Money, errors
from invoicekit._money import MINOR_UNITS, normalize_currency


@pytest.mark.parametrize("amount", [0.1, 90.5, 1.0])
def test_float_amount_is_refused_with_a_hint(amount: float) -> None:
    with pytest.raises(errors.InvalidRequest, match="float") as info:
        Money(amount, "USD")  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert repr(str(amount)) in str(info.value)  # it suggests the exact string form


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", "12abc", True, None, b"1"])
def test_non_numbers_are_refused(amount: object) -> None:
    with pytest.raises(errors.InvalidRequest):
        Money(amount, "USD")  # type: ignore[arg-type]


def test_float_quantity_and_tax_rate_are_refused() -> None:
    price = Money("10", "USD")
    with pytest.raises(errors.InvalidRequest, match="quantity"):
        LineItem(name="x", quantity=1.5, unit_price=price)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRequest):
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
    with pytest.raises(errors.InvalidRequest):
        Money("1", 840)  # type: ignore[arg-type]


def test_arithmetic_across_currencies_is_refused() -> None:
    usd, sar = Money("1", "USD"), Money("1", "SAR")
    with pytest.raises(errors.InvalidRequest, match="USD and SAR"):
        usd + sar
    with pytest.raises(errors.InvalidRequest):
        usd - sar
    with pytest.raises(errors.InvalidRequest):
        _ = usd < sar
    assert usd != sar  # equality is allowed and false


def test_arithmetic_with_plain_numbers_is_refused() -> None:
    with pytest.raises(TypeError):
        Money("1", "USD") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money("1", "USD") * Money("2", "USD")
    with pytest.raises(errors.InvalidRequest):
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


@pytest.mark.parametrize(("minor", "currency"), [
    (12550, "USD"), (0, "usd"), (-7, " ر.س "), (10**40 + 1, "KWD"), (5, "JPY"),
])
def test_from_minor_builds_what_the_constructor_builds(minor: int, currency: str) -> None:
    # from_minor skips the converters for values it has already made right; the result must
    # be indistinguishable from a constructed one (same type, same fields, same exponent).
    money = Money.from_minor(minor, currency)
    code = normalize_currency(currency)
    # From text, which is exact at any size (`scaleb` would round to 28 digits).
    built = Money(Decimal(f"{minor}E-{MINOR_UNITS[code]}"), code)
    assert type(money) is Money
    assert (money, repr(money), money.amount.as_tuple()) == (built, repr(built),
                                                            built.amount.as_tuple())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        money.amount = Decimal(1)  # type: ignore[misc]


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

    with pytest.raises(errors.InvalidRequest):
        InvoiceQuery(page_size=0)
    with pytest.raises(errors.InvalidRequest):
        InvoiceQuery(from_date=dt.date(2024, 2, 1), to_date=dt.date(2024, 1, 1))


def test_customer_needs_only_a_name_and_email() -> None:
    customer = Customer(name="Noura", email="noura@example.com")
    assert customer.id is None
    assert Customer(id=123).id == "123"  # ids are always str in the model
