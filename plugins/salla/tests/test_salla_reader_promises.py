"""Promises of Salla's reader that mutation testing (`python3 dev.py mutate salla-reader`)
found no test for: which amount names the invoice's currency (total, then the subtotal,
then shipping, then the items' prices; SAR when none does), the path a bad currency is
reported at, dates with spaces around them, text that is almost an amount (`"1.2.3"`),
non-finite `Decimal`s where a rate or a quantity is expected, and how much of a bad value
a message quotes.

Every payload is small and written by hand, and so is every expected value: these tests are
also the fast selection the mutation run uses (the generated-payload tests of
`test_salla_reader.py` cover the same ground more slowly).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from invoicekit import LineItem, Money
from invoicekit_salla._wire import WireFormatError, read_amount, to_invoice

UNKNOWN = "unknown currency 'XYZ': expected an ISO 4217 code such as 'SAR'"


def fault(payload: Any) -> WireFormatError:
    with pytest.raises(WireFormatError) as caught:
        to_invoice(payload)
    return caught.value


# ---- the invoice's currency ------------------------------------------------------------------
def test_the_total_names_the_currency_of_every_amount_that_names_none() -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": "115.00", "currency": "USD"},
                          "sub_total": {"amount": 100}, "cod_cost": {"amount": "0"},
                          "tax": {"percent": 15, "amount": {"amount": "15.00"}},
                          "items": [{"name": "Pen", "price": {"amount": "100.00"}}]})
    assert invoice.currency == "USD"
    assert invoice.total == Money(Decimal("115.00"), "USD")
    assert invoice.subtotal == Money(Decimal(100), "USD")
    assert invoice.cash_on_delivery == Money(Decimal(0), "USD")
    assert invoice.tax == Money(Decimal("15.00"), "USD")
    assert invoice.items == (LineItem(name="Pen", quantity=Decimal(1),
                                      unit_price=Money(Decimal("100.00"), "USD")),)


def test_the_total_comes_first_and_an_amount_keeps_the_currency_it_names() -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": 5, "currency": "USD"},
                          "sub_total": {"amount": 4, "currency": "EUR"},
                          "shipping_cost": {"amount": 1, "currency": "KWD"}})
    assert invoice.currency == "USD"
    assert invoice.subtotal == Money(Decimal(4), "EUR")
    assert invoice.shipping == Money(Decimal(1), "KWD")


@pytest.mark.parametrize("key", ["sub_total", "subtotal"])
def test_without_a_currency_on_the_total_the_subtotal_names_it(key: str) -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": 5},
                          key: {"amount": 5, "currency": "EUR"},
                          "shipping_cost": {"amount": 1, "currency": "USD"}})
    assert invoice.currency == "EUR"
    assert invoice.total == Money(Decimal(5), "EUR")
    assert invoice.shipping == Money(Decimal(1), "USD")


def test_then_shipping_names_it_and_an_empty_currency_names_none() -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": 7, "currency": ""},
                          "sub_total": {"amount": 6, "currency": None},
                          "shipping_cost": {"amount": 1, "currency": "ر.س"},
                          "items": [{"name": "Pen", "price": {"amount": 6, "currency": "USD"}}]})
    assert invoice.currency == "SAR"  # the riyal's Arabic abbreviation, on the shipping
    assert invoice.total == Money(Decimal(7), "SAR")
    assert invoice.items[0].unit_price == Money(Decimal(6), "USD")


def test_then_the_first_item_price_that_names_one() -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": "30"},
                          "items": [{"name": "a", "price": {"amount": 10}},
                                    {"name": "b", "price": {"amount": 20, "currency": "eur"}}]})
    assert invoice.currency == "EUR"
    assert invoice.total == Money(Decimal(30), "EUR")
    assert [item.unit_price for item in invoice.items] == [Money(Decimal(10), "EUR"),
                                                           Money(Decimal(20), "EUR")]


def test_an_item_that_is_not_an_object_is_reported_as_an_item_not_as_a_currency() -> None:
    error = fault({"id": 1, "items": [{"name": "a", "price": {"amount": 1}}, "Pen",
                                      {"name": "b", "price": {"amount": 2, "currency": "USD"}}]})
    assert str(error) == "items[1]: expected an item object, got a string"


def test_no_amount_names_a_currency_the_invoice_is_in_riyals() -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": 1}, "sub_total": {"amount": 1},
                          "shipping_cost": {"amount": 0}, "items": [
                              {"name": "a", "price": {"amount": 1}}]})
    assert invoice.currency == "SAR"
    assert invoice.total == Money(Decimal(1), "SAR")


@pytest.mark.parametrize(("payload", "path"), [
    ({"total": {"amount": 1, "currency": "XYZ"}}, "total.currency"),
    ({"sub_total": {"amount": 1, "currency": "XYZ"}}, "sub_total.currency"),
    ({"subtotal": {"amount": 1, "currency": "XYZ"}}, "subtotal.currency"),
    ({"shipping_cost": {"amount": 1, "currency": "XYZ"}}, "shipping_cost.currency"),
    ({"items": [{"name": "a", "price": {"amount": 1}}, {"name": "b", "price": {"amount": 1}},
                {"name": "c", "price": {"amount": 1, "currency": "XYZ"}}]},
     "items[2].price.currency"),
])
def test_an_unknown_currency_is_reported_at_the_amount_that_names_it(payload: dict[str, Any],
                                                                     path: str) -> None:
    error = fault({"id": 1, **payload})
    assert (error.path, error.problem) == (path, UNKNOWN)
    assert str(error) == f"{path}: {UNKNOWN}"


# ---- dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["2022-06-30", " 2022-06-30", "2022-06-30 ",
                                  "2022-06-30T09:00:00Z", "2022-06-30 09:00:00"])
def test_a_date_may_have_spaces_or_a_time_around_it(text: str) -> None:
    assert to_invoice({"id": 1, "date": text}).issue_date == dt.date(2022, 6, 30)


def test_a_long_bad_date_is_quoted_to_40_characters() -> None:
    error = fault({"id": 1, "date": "on the last day of June, after the sale ended"})
    assert str(error) == "date: 'on the last day of June, after the sale ' is not a YYYY-MM-DD date"


# ---- text that is almost an amount ---------------------------------------------------------
@pytest.mark.parametrize(("payload", "message"), [
    ({"total": {"amount": "1.2.3"}}, "total.amount: '1.2.3' is not an amount"),
    ({"total": {"amount": "90..5"}}, "total.amount: '90..5' is not an amount"),
    ({"tax": {"percent": "1.2.3"}}, "tax.percent: '1.2.3' is not an amount"),
    ({"items": [{"name": "a", "price": {"amount": 1}, "quantity": "1.0.0"}]},
     "items[0].quantity: '1.0.0' is not an amount"),
    ({"total": {"amount": "1234567890123456789012345678901234567890,5"}},
     "total.amount: '1234567890123456789012345678901234567890' is not an amount"),
])
def test_text_that_is_almost_an_amount_is_refused_naming_the_field(payload: dict[str, Any],
                                                                   message: str) -> None:
    assert str(fault({"id": 1, **payload})) == message


@pytest.mark.parametrize(("text", "value"), [("90.50", "90.50"), ("90.", "90"), (".5", "0.5"),
                                             ("007", "7"), ("1,234.50", "1234.50")])
def test_a_rate_as_text_is_read_exactly(text: str, value: str) -> None:
    assert to_invoice({"id": 1, "tax": {"percent": text}}).tax_rate == Decimal(value)


# ---- non-finite Decimals (JSON decoded with parse_float=Decimal cannot make them, a caller can)
@pytest.mark.parametrize(("payload", "message"), [
    ({"tax": {"percent": Decimal("NaN")}}, "tax.percent: Decimal('NaN') is not a finite number"),
    ({"tax": {"percent": Decimal("-Infinity")}},
     "tax.percent: Decimal('-Infinity') is not a finite number"),
    ({"items": [{"name": "a", "price": {"amount": 1}, "quantity": Decimal("Infinity")}]},
     "items[0].quantity: Decimal('Infinity') is not a finite number"),
    ({"items": [{"name": "a", "price": {"amount": Decimal("sNaN")}}]},
     "items[0].price.amount: Decimal('sNaN') is not a finite number"),
])
def test_a_non_finite_decimal_is_refused_naming_the_field(payload: dict[str, Any],
                                                          message: str) -> None:
    error = fault({"id": 1, **payload})
    assert str(error) == message
    assert error.path == message.partition(": ")[0]


# ---- read_amount, the SDK-level reader other modules use -----------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (130, Decimal(130)), (0, Decimal(0)), (-7, Decimal(-7)), (Decimal("35.3"), Decimal("35.3")),
    ("90.50", Decimal("90.50")), (" 1,234.50 ", Decimal("1234.50")),
])
def test_read_amount_takes_numbers_and_numeric_text(value: Any, expected: Decimal) -> None:
    read = read_amount(value, "amount")
    assert (read, type(read)) == (expected, Decimal)


@pytest.mark.parametrize(("value", "message"), [
    (Decimal("NaN"), "x.amount: Decimal('NaN') is not a finite number"),
    (1.5, "x.amount: 1.5 is a binary float, not an exact amount"),
    (True, "x.amount: expected a number or a numeric string, got a boolean"),
    ([1], "x.amount: expected a number or a numeric string, got a list"),
    ("1.2.3", "x.amount: '1.2.3' is not an amount"),
])
def test_read_amount_refuses_the_rest_naming_the_path(value: Any, message: str) -> None:
    with pytest.raises(WireFormatError) as caught:
        read_amount(value, "x.amount")
    assert (str(caught.value), caught.value.path) == (message, "x.amount")
