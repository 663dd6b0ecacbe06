"""Promises of DayZero's reader that mutation testing (`python3 dev.py mutate dayzero-reader`)
found no test for: the default and spelled-out currencies, how a wrong value is quoted in a
message (in full up to 60 characters, cut past them), "missing" against "null", and the
strict `str` and `bool` hooks of the customer and send-receipt readers.

Expected values are hand-written: amounts from the cents, messages as documented in
`_wire`'s docstrings (`line_items[2].unit_price: expected integer cents, got '12.5'`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from dayzero_support import INVOICE_ID, load_fixture

from invoicekit import Customer, Money, Request, Response, errors
from invoicekit_dayzero import _wire


def response(data: Any, method: str = "GET", status: int = 200) -> Response:
    return Response(status=status, headers={"content-type": "application/json"},
                    content=json.dumps(data, ensure_ascii=False).encode(),
                    request=Request(method, "/invoices"), provider="dayzero")


def fault(data: Any) -> str:
    """The message of the `WireFormatError` *data* raises (the whole message, not a part)."""
    with pytest.raises(_wire.WireFormatError) as info:
        _wire.to_invoice(data)
    return str(info.value)


# ---- currencies ------------------------------------------------------------------------------
@pytest.mark.parametrize("currency", ["", None])
def test_an_empty_or_null_currency_is_the_documented_default(currency: Any) -> None:
    invoice = _wire.to_invoice({**load_fixture("invoice_200.json"), "currency": currency})
    assert invoice.currency == "USD"
    assert invoice.total == Money(Decimal("761.00"), "USD")  # 76100 cents, two places


@pytest.mark.parametrize(("currency", "code", "total", "price"), [
    (" eur ", "EUR", "761.00", "125.50"),  # padded: read as the core reads currencies
    ("jpy", "JPY", "76100", "12550"),      # lower case; no minor units: the cents are yen
    ("kwd", "KWD", "76.100", "12.550"),    # three places
])
def test_a_currency_spelled_otherwise_is_read_with_its_minor_units(
        currency: str, code: str, total: str, price: str) -> None:
    invoice = _wire.to_invoice({**load_fixture("invoice_200.json"), "currency": currency})
    assert invoice.currency == code
    assert invoice.total is not None
    assert (str(invoice.total.amount), invoice.total.currency) == (total, code)
    assert str(invoice.items[0].unit_price.amount) == price  # 12550 (cents) in the fixture


# ---- how a wrong value is shown in the message ---------------------------------------------
def test_a_wrong_value_of_60_characters_is_shown_in_full() -> None:
    value = "x" * 58  # its repr, quotes included, is 60 characters
    assert fault({"id": value, "status": "open"}) == f"id: expected a UUID, got '{value}'"


def test_a_wrong_value_past_60_characters_is_cut_to_57_and_an_ellipsis() -> None:
    value = "x" * 59  # repr: 61 characters
    assert fault({"id": value, "status": "open"}) == f"id: expected a UUID, got '{'x' * 56}..."
    assert fault({"id": "y" * 500, "status": "open"}) == f"id: expected a UUID, got '{'y' * 56}..."


def test_a_short_wrong_value_is_shown_as_it_is() -> None:
    assert fault({"id": INVOICE_ID, "status": 7}) == "status: expected a string, got 7"
    assert fault({"id": "", "status": "open"}) == "id: expected a UUID, got ''"


# ---- a field sent as null is not a missing field --------------------------------------------
def test_a_null_line_field_is_named_null_and_a_missing_one_missing() -> None:
    data = load_fixture("invoice_200.json")
    data["line_items"][1]["description"] = None
    assert fault(data) == "line_items[1].description: expected a string, got None"
    del data["line_items"][1]["description"]
    assert fault(data) == ("line_items[1].description: expected a string, got nothing "
                           "(the field is missing)")
    data = load_fixture("invoice_200.json")
    data["line_items"][0]["unit_price"] = None
    assert fault(data) == "line_items[0].unit_price: expected integer cents, got None"
    del data["line_items"][0]["unit_price"]
    assert fault(data) == ("line_items[0].unit_price: expected integer cents, got nothing "
                           "(the field is missing)")


def test_a_null_id_is_named_null_and_a_missing_one_missing() -> None:
    assert fault({"id": None, "status": "open"}) == "id: expected a UUID, got None"
    assert fault({"status": "open"}) == ("id: expected a UUID, got nothing "
                                         "(the field is missing)")
    assert fault({"id": INVOICE_ID}) == ("status: expected a string, got nothing "
                                         "(the field is missing)")


# ---- the send receipt's booleans and the customer's strings (cattrs hooks) ------------------
SENT = {"invoice_id": INVOICE_ID, "customer_email": "ada@example.com"}


@pytest.mark.parametrize(("success", "sent"), [(True, True), (False, False),
                                               ("true", True), ("false", False)])
def test_success_is_a_boolean_or_its_json_spelling(success: Any, sent: bool) -> None:
    receipt = _wire.parse_receipt(response({**SENT, "success": success}, "POST", 201), INVOICE_ID)
    assert receipt.sent is sent
    assert receipt.recipient == "ada@example.com"


@pytest.mark.parametrize("success", ["yes", "True", "TRUE", "FALSE", "", 1, 0, None, [True]])
def test_any_other_success_value_is_the_typed_error_naming_the_field(success: Any) -> None:
    with pytest.raises(errors.OutcomeUnknown) as info:
        _wire.parse_receipt(response({**SENT, "success": success}, "POST", 201), INVOICE_ID)
    assert "unexpected send result from DayZero: " in str(info.value)
    assert "expected bool @ $.success" in str(info.value)
    assert info.value.provider == "dayzero"


def test_pdf_attached_reads_its_json_spelling_too() -> None:
    body = {**SENT, "success": True, "pdf_attached": "false"}
    assert _wire.parse_receipt(response(body, "POST", 201), INVOICE_ID).pdf_attached is False


@pytest.mark.parametrize(("name", "read"), [("Ada", "Ada"), (5, "5"), (-12, "-12"),
                                            (None, None)])
def test_a_customer_text_is_a_string_or_an_integer_as_its_digits(name: Any,
                                                                  read: str | None) -> None:
    customer = _wire.parse_customer(response({"id": INVOICE_ID, "name": name}))
    assert customer == Customer(id=INVOICE_ID, name=read)


@pytest.mark.parametrize("name", [True, False, 5.5, ["Ada"], {"first": "Ada"}])
def test_any_other_customer_text_is_the_typed_error_naming_the_field(name: Any) -> None:
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_customer(response({"id": INVOICE_ID, "name": name}))
    assert type(info.value) is errors.ProviderUnavailable
    assert "unexpected customer from DayZero: " in str(info.value)
    assert "expected str | None @ $.name" in str(info.value)


def test_the_converter_refuses_a_non_boolean_with_a_message_saying_what_came() -> None:
    """`_wire.converter` is the reader's public converter: used on its own, its strict hooks
    explain themselves (through `parse_receipt`, cattrs' `@ $.field` message is shown)."""
    assert _wire.converter.structure("true", bool) is True
    with pytest.raises(ValueError, match=r"^expected true or false, got 'maybe'$"):
        _wire.converter.structure("maybe", bool)
    assert _wire.converter.structure(42, str) == "42"
    with pytest.raises(ValueError, match=r"^expected a string, got float$"):
        _wire.converter.structure(4.2, str)
    with pytest.raises(ValueError, match=r"^expected a string, got bool$"):
        _wire.converter.structure(False, str)


# ---- the assembly of an invoice (`to_invoice`) ---------------------------------------------
def test_a_line_without_an_amount_totals_quantity_times_unit_price() -> None:
    data = load_fixture("invoice_200.json")
    del data["line_items"][2]["amount"]  # 3 x 12750 cents
    item = _wire.to_invoice(data).items[2]
    assert (item.quantity, item.unit_price, item.total) == (
        Decimal(3), Money(Decimal("127.50"), "USD"), Money(Decimal("382.50"), "USD"))


def test_line_amounts_of_any_size_stay_exact_whatever_the_callers_context() -> None:
    import decimal

    data = load_fixture("invoice_200.json")
    data["line_items"][0].update(unit_price=10**30 + 1, amount=10**30 + 3)
    with decimal.localcontext(decimal.Context(prec=5)):
        item = _wire.to_invoice(data).items[0]
    assert str(item.unit_price.amount) == "10000000000000000000000000000.01"
    assert item.total is not None
    assert str(item.total.amount) == "10000000000000000000000000000.03"


@pytest.mark.parametrize(("fields", "customer"), [
    ({"customer_name": "Ada Lovelace"}, Customer(name="Ada Lovelace")),
    ({"customer_email": "ada@example.com"}, Customer(email="ada@example.com")),
    ({"customer_id": INVOICE_ID}, Customer(id=INVOICE_ID)),
    ({"customer_name": "", "customer_email": ""}, None),
    ({}, None),
])
def test_any_one_customer_field_makes_a_customer(fields: dict[str, str],
                                                 customer: Customer | None) -> None:
    data = {k: v for k, v in load_fixture("invoice_200.json").items()
            if not k.startswith("customer_")}
    assert _wire.to_invoice({**data, **fields}).customer == customer


def test_the_payload_itself_has_an_empty_path() -> None:
    with pytest.raises(_wire.WireFormatError) as info:
        _wire.to_invoice(["an", "invoice"])
    assert (info.value.path, str(info.value)) == ("", "expected an invoice object, got list")


@pytest.mark.parametrize(("line", "message"), [
    ({"description": 5, "quantity": 1, "unit_price": 1},
     "line_items[0].description: expected a string, got 5"),
    ({"description": "x", "unit_price": 1},
     "line_items[0].quantity: expected a whole number, got nothing (the field is missing)"),
    ({"description": "x", "quantity": None, "unit_price": 1},
     "line_items[0].quantity: expected a whole number, got None"),
    ({"description": "x", "quantity": 1, "unit_price": 1, "variant_id": 5},
     "line_items[0].variant_id: expected a string or null, got 5"),
    ({"description": "x", "quantity": 1, "unit_price": 1, "variant_id": ["v"]},
     "line_items[0].variant_id: expected a string or null, got a list of 1"),
])
def test_a_bad_line_field_is_named_with_what_came(line: dict[str, Any], message: str) -> None:
    assert fault({"id": INVOICE_ID, "status": "open", "line_items": [line]}) == message


def test_created_at_is_text_or_null() -> None:
    data = load_fixture("invoice_200.json")
    assert _wire.to_invoice({**data, "created_at": None}).id == INVOICE_ID
    assert fault({**data, "created_at": 5}) == "created_at: expected a string or null, got 5"


def test_a_body_that_is_not_an_invoice_object_is_named_without_a_path() -> None:
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response([1, 2]))
    assert info.value.message.startswith(
        "unusable invoice from DayZero: expected an invoice object, got list (HTTP 200")


def test_a_page_that_is_not_an_object_or_has_no_items_array_says_so() -> None:
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.invoice_page(response([{"id": INVOICE_ID}]))
    assert info.value.message.startswith(
        "expected an invoice list page object from DayZero, got list (HTTP 200")
    for page in ({"data": [], "has_next": False}, {"items": {"0": {}}, "has_next": False}):
        with pytest.raises(errors.ProviderUnavailable) as info:
            _wire.invoice_page(response(page))
        assert info.value.message.startswith(
            "DayZero's invoice list has no 'items' array (HTTP 200")
