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


# ---- the assembly of an invoice: every field read from its own key, faults named there ---------
@pytest.mark.parametrize("field", ["invoice_number", "type", "order_id", "payment_method",
                                   "url", "qr_code"])
def test_a_text_field_of_another_type_is_named(field: str) -> None:
    error = fault({"id": 1, field: [1]})
    assert (error.path, str(error)) == (field, f"{field}: expected a string or an integer, "
                                               "got a list")


@pytest.mark.parametrize("field", ["sub_total", "subtotal", "shipping_cost", "cod_cost",
                                   "discount", "total"])
def test_a_bad_amount_is_named_at_its_own_field(field: str) -> None:
    error = fault({"id": 1, field: {"amount": "x", "currency": "SAR"}})
    assert (error.path, str(error)) == (f"{field}.amount", f"{field}.amount: 'x' is not an amount")


@pytest.mark.parametrize("field", ["discount", "total", "tax"])
def test_a_bad_item_amount_is_named_at_its_own_field(field: str) -> None:
    amount = {"amount": "x"}
    item = {"name": "Pen", "price": {"amount": 1},
            field: {"percent": 15, "amount": amount} if field == "tax" else amount}
    path = "items[0].tax.amount.amount" if field == "tax" else f"items[0].{field}.amount"
    assert str(fault({"id": 1, "items": [item]})) == f"{path}: 'x' is not an amount"


@pytest.mark.parametrize(("field", "path"), [("sku", "sku"), ("product_id", "product_id"),
                                             ("type", "type")])
def test_a_bad_item_text_is_named_at_its_own_field(field: str, path: str) -> None:
    item = {"name": "Pen", "price": {"amount": 1}, field: 1.5}
    assert str(fault({"id": 1, "items": [item]})) == (
        f"items[0].{path}: expected a string or an integer, got a float")


def test_every_field_is_read_from_its_own_key_ids_as_text() -> None:
    invoice = to_invoice({
        "id": 7, "invoice_number": 1001, "type": "credit_note", "order_id": 42,
        "payment_method": "mada", "url": "https://s.salla.sa/i/7.pdf", "date": "2024-02-29",
        "total": {"amount": "10.00", "currency": "USD"}, "shipping_cost": {"amount": "2"},
        "cod_cost": {"amount": "3"}, "discount": {"amount": "-1.50"},
        "items": [{"name": 12, "price": {"amount": "4.00"}, "quantity": 2,
                   "discount": {"amount": "0.50"}, "total": {"amount": "7.50"},
                   "tax": {"percent": "15", "amount": {"amount": "1.05"}},
                   "sku": 99, "product_id": 5, "type": 3},
                  {"name": "Pad", "price": {"amount": 1}, "sku": "P-1", "product_id": "6",
                   "type": "product"}]})
    usd = "USD"
    assert (invoice.id, invoice.number, invoice.order_id) == ("7", "1001", "42")
    assert (invoice.payment_method, invoice.pdf_url) == ("mada", "https://s.salla.sa/i/7.pdf")
    assert invoice.issue_date == dt.date(2024, 2, 29)
    assert invoice.kind.value == "credit_note"
    assert (invoice.shipping, invoice.cash_on_delivery, invoice.discount) == (
        Money(Decimal(2), usd), Money(Decimal(3), usd), Money(Decimal("-1.50"), usd))
    assert invoice.items == (
        LineItem(name="12", quantity=Decimal(2), unit_price=Money(Decimal("4.00"), usd),
                 discount=Money(Decimal("0.50"), usd), tax_rate=Decimal(15),
                 tax=Money(Decimal("1.05"), usd), total=Money(Decimal("7.50"), usd),
                 sku="99", product_id="5", kind="3"),
        LineItem(name="Pad", quantity=Decimal(1), unit_price=Money(Decimal(1), usd),
                 sku="P-1", product_id="6", kind="product"))


def test_an_invoice_may_come_as_any_mapping() -> None:
    from types import MappingProxyType

    invoice = to_invoice(MappingProxyType({"id": 1, "total": {"amount": "5"}}))
    assert (invoice.id, invoice.total) == ("1", Money(Decimal(5), "SAR"))


def test_the_payload_itself_has_an_empty_path() -> None:
    error = fault(["not", "an", "invoice"])
    assert (error.path, str(error)) == ("", "expected an invoice object, got a list")


@pytest.mark.parametrize(("item", "message"), [
    ({"name": None, "price": {"amount": 1}}, "items[0].name: missing: an item needs a name"),
    ({"name": "x", "price": None}, "items[0].price: missing: an item needs a price"),
    ({"price": {"amount": 1}}, "items[0].name: missing: an item needs a name"),
    ({"name": 1.5, "price": {"amount": 1}},
     "items[0].name: expected a string or an integer, got a float"),
])
def test_an_item_without_a_name_or_a_price_is_named(item: dict[str, Any], message: str) -> None:
    error = fault({"id": 1, "items": [item]})
    assert (error.path, str(error)) == (message.partition(": ")[0], message)


def test_an_id_too_long_to_print_is_named() -> None:
    error = fault({"id": 10**5000})
    assert (error.path, str(error)) == ("id", "id: an integer far too long to be an id")


@pytest.mark.parametrize(("label", "kind"), [
    ("CREDIT NOTE", "credit_note"), ("Credit-Note", "credit_note"),
    ("credit _ note", "credit_note"), ("Credit_Note", "credit_note"),
    ("CreditNote", "credit_note"), (" مرتجع ", "credit_note"),
    ("TAX INVOICE", "invoice"), ("simplified_tax_invoice", "invoice"), ("", "invoice"),
])
def test_a_label_is_read_whatever_its_case_and_separators(label: str, kind: str) -> None:
    assert to_invoice({"id": 1, "type": label}).kind.value == kind
