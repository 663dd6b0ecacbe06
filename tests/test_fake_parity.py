"""The fake's `salla` and `dayzero` profiles judge drafts exactly as the real plugins do.

Every draft below goes through `check_draft` of the fake (one profile) and of the real
plugin's gateway (connected with well-formed dummy credentials to a loopback address that
is never contacted: `check_draft` makes no request). Both must give the same verdict:
accepted (with the same returned draft), or the same error class, and for
`InvalidRequest` the same set of `fields` keys. Each case also states the verdict it
expects, so the battery cannot pass by both sides agreeing on nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import attrs
import pytest

import invoicekit
from invoicekit import Customer, Gateway, InvoiceDraft, InvoiceKind, LineItem, Money, errors
from invoicekit.testing import FakeGateway

LOOPBACK = "http://127.0.0.1:9"  # the discard port; nothing is ever sent there
BUSINESS = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CUSTOMER_ID = "0e6b2c4a-1111-4222-8333-444455556666"
ISSUED = dt.date(2025, 3, 1)
DUE = dt.date(2025, 3, 31)

ACCEPTED = "accepted"
UNSUPPORTED = "UnsupportedFeature"
Expected = str | frozenset[str]
"""`ACCEPTED`, `UNSUPPORTED`, or the `InvalidRequest.fields` keys."""


def keys(*names: str) -> frozenset[str]:
    return frozenset(names)


# ---- DayZero -------------------------------------------------------------------------------
def usd(amount: str) -> Money:
    return Money(amount, "USD")


def dz_item(**changes: object) -> LineItem:
    base = LineItem(name="Design work", quantity=Decimal(2), unit_price=usd("12.50"))
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def dz(**changes: object) -> InvoiceDraft:
    base = InvoiceDraft(
        customer=Customer(id=CUSTOMER_ID, name="Ada", email="ada@example.com"),
        currency="USD", issue_date=ISSUED, due_date=DUE, description="March",
        items=(dz_item(),),
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def in_currency(code: str, price: str = "12.50") -> InvoiceDraft:
    return dz(currency=code, items=(dz_item(unit_price=Money(price, code)),))


DAYZERO_CASES: dict[str, tuple[InvoiceDraft, Expected]] = {
    "valid, existing customer id": (dz(), ACCEPTED),
    "valid, customer created inline (name + email, no id)": (
        dz(customer=Customer(name="Ada", email="ada@example.com")), ACCEPTED),
    "valid, upper-case customer UUID": (dz(customer=Customer(id=CUSTOMER_ID.upper())), ACCEPTED),
    **{f"valid in {code}": (in_currency(code), ACCEPTED)
       for code in ("USD", "EUR", "GBP", "CAD", "AUD")},
    "valid, matching line, subtotal and total": (
        dz(items=(dz_item(total=usd("25.00")),), subtotal=usd("25.00"), total=usd("25.00")),
        ACCEPTED),
    "valid, zero tax/shipping/discount/cod and tax rate": (
        dz(tax=usd("0"), shipping=usd("0"), discount=usd("0"), cash_on_delivery=usd("0"),
           tax_rate=Decimal(0)), ACCEPTED),
    "valid, several lines and a total": (
        dz(items=(dz_item(), dz_item(name="Hosting", quantity=1, unit_price=usd("5.00"))),
           total=usd("30.00")), ACCEPTED),
    "valid, no issue date (DayZero's default)": (dz(issue_date=None), ACCEPTED),
    "sub-cent unit price": (dz(items=(dz_item(unit_price=usd("12.505")),)),
                            keys("items.0.unit_price")),
    "sub-cent line total": (dz(items=(dz_item(total=usd("25.005")),)), keys("items.0.total")),
    "sub-cent invoice total": (dz(total=usd("25.001")), keys("total")),
    "sub-cent subtotal": (dz(subtotal=usd("25.001")), keys("subtotal")),
    "fractional quantity": (dz(items=(dz_item(quantity=Decimal("1.5")),)),
                            keys("items.0.quantity")),
    "zero quantity": (dz(items=(dz_item(quantity=0),)), keys("items.0.quantity")),
    "negative quantity": (dz(items=(dz_item(quantity=-1),)), keys("items.0.quantity")),
    "SAR on DayZero": (in_currency("SAR"), keys("currency")),
    "JPY on DayZero": (in_currency("JPY", "1250"), keys("currency")),
    "JPY with a fraction of a yen": (in_currency("JPY"), keys("currency",
                                                              "items.0.unit_price")),
    "missing due date": (dz(due_date=None), keys("due_date")),
    "no items": (dz(items=()), keys("items")),
    "no items but a total": (dz(items=(), total=usd("25.00")), keys("items")),
    "no customer": (dz(customer=None), keys("customer")),
    "inline customer without email": (dz(customer=Customer(name="Ada")), keys("customer")),
    "inline customer without name": (dz(customer=Customer(email="ada@example.com")),
                                      keys("customer")),
    "customer id not a UUID": (dz(customer=Customer(id="42")), keys("customer.id")),
    "invoice number set": (dz(number="INV-9"), keys("number")),
    "order id set": (dz(order_id="1001"), keys("order_id")),
    "tax on DayZero": (dz(tax=usd("3.75")), keys("tax")),
    "shipping on DayZero": (dz(shipping=usd("5.00")), keys("shipping")),
    "cash on delivery on DayZero": (dz(cash_on_delivery=usd("2.00")), keys("cash_on_delivery")),
    "discount on DayZero": (dz(discount=usd("1.00")), keys("discount")),
    "tax rate on DayZero": (dz(tax_rate=Decimal(15)), keys("tax_rate")),
    "line tax rate": (dz(items=(dz_item(tax_rate=Decimal(15)),)), keys("items.0.tax_rate")),
    "line tax": (dz(items=(dz_item(tax=usd("1.00")),)), keys("items.0.tax")),
    "line discount": (dz(items=(dz_item(discount=usd("1.00")),)), keys("items.0.discount")),
    "line total is not quantity x price": (dz(items=(dz_item(total=usd("20.00")),)),
                                           keys("items.0.total")),
    "total differs from the lines": (dz(total=usd("1.00")), keys("total")),
    "subtotal differs from the lines": (dz(subtotal=usd("99.00")), keys("subtotal")),
    "second line's problem is indexed": (
        dz(items=(dz_item(), dz_item(quantity=Decimal("0.5")))), keys("items.1.quantity")),
    "every problem at once": (
        dz(currency="SAR", due_date=None, number="7", order_id="5", customer=None,
           items=(dz_item(quantity=Decimal("0.5"), unit_price=Money("1.001", "SAR")),),
           tax=Money("1", "SAR")),
        keys("currency", "due_date", "number", "order_id", "customer", "items.0.quantity",
             "items.0.unit_price", "tax")),
    "credit note on DayZero": (dz(kind=InvoiceKind.CREDIT_NOTE), UNSUPPORTED),
    "credit note with other problems": (dz(kind=InvoiceKind.CREDIT_NOTE, due_date=None),
                                        UNSUPPORTED),
    "from_order on DayZero": (dz(from_order=True), UNSUPPORTED),
    "document URL on DayZero": (dz(document_url="https://example.com/i.pdf"), UNSUPPORTED),
    "document PDF on DayZero": (dz(document_pdf=b"%PDF-1.7 test"), UNSUPPORTED),
}


# ---- Salla ---------------------------------------------------------------------------------
def sar(amount: str) -> Money:
    return Money(amount, "SAR")


def salla(**changes: object) -> InvoiceDraft:
    base = InvoiceDraft(
        order_id="1371877152", number="F-00001", currency="SAR", issue_date=ISSUED,
        customer=Customer(name="عميل", email="client@example.sa"),
        items=(LineItem(name="منتج", quantity=2, unit_price=sar("100.00"),
                        total=sar("200.00"), tax_rate=Decimal(15)),),
        subtotal=sar("200.00"), shipping=sar("0"), cash_on_delivery=sar("0"),
        tax_rate=Decimal(15), tax=sar("30.00"), total=sar("230.00"),
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def salla_form(**changes: object) -> InvoiceDraft:
    return attrs.evolve(InvoiceDraft(order_id="1371877152"), **changes)  # type: ignore[arg-type]


SALLA_CASES: dict[str, tuple[InvoiceDraft, Expected]] = {
    "valid data draft": (salla(), ACCEPTED),
    "valid without shipping and cash on delivery (sent as zero)": (
        salla(shipping=None, cash_on_delivery=None), ACCEPTED),
    "valid credit note": (salla(kind=InvoiceKind.CREDIT_NOTE, number="CN-1"), ACCEPTED),
    "valid, items are not part of Salla's request": (
        salla(items=(LineItem(name="x", quantity=0, unit_price=sar("1.005")),)), ACCEPTED),
    "valid, customer is not part of Salla's request": (
        salla(customer=Customer(name="x", email="not-an-address")), ACCEPTED),
    "valid from order": (salla_form(from_order=True), ACCEPTED),
    "valid credit note from order": (salla_form(from_order=True,
                                                kind=InvoiceKind.CREDIT_NOTE), ACCEPTED),
    "valid https PDF link": (salla_form(document_url="https://i.ibb.co/jyqRQfQ/invoice.pdf"),
                             ACCEPTED),
    "valid http PDF link": (salla_form(document_url="http://example.com/a/b.pdf"), ACCEPTED),
    "valid PDF file": (salla_form(document_pdf=b"%PDF-1.7 test"), ACCEPTED),
    "valid 19-digit order id": (salla(order_id="1" * 19), ACCEPTED),
    "Salla data draft missing every amount": (
        salla_form(), keys("number", "subtotal", "total", "tax_rate", "tax")),
    "Salla data draft with only a total": (
        salla_form(total=sar("10")), keys("number", "subtotal", "tax_rate", "tax")),
    "Salla data draft missing number": (salla(number=None), keys("number")),
    "Salla data draft missing tax rate": (salla(tax_rate=None), keys("tax_rate")),
    "Salla data draft missing tax": (salla(tax=None), keys("tax")),
    "no order id": (salla(order_id=None), keys("order_id")),
    "no order id, from order": (salla_form(order_id=None, from_order=True), keys("order_id")),
    "non-digit order id": (salla(order_id="abc"), keys("order_id")),
    "order id with a dash": (salla(order_id="12-3"), keys("order_id")),
    "order id in Arabic-Indic digits": (salla(order_id="١٢٣"), keys("order_id")),
    "order id of 20 digits": (salla(order_id="1" * 20), keys("order_id")),
    "USD on Salla": (salla(currency="USD", subtotal=usd("200.00"), shipping=usd("0"),
                           cash_on_delivery=usd("0"), tax=usd("30.00"), total=usd("230.00"),
                           items=()), keys("currency")),
    "negative total": (salla(total=sar("-1")), keys("total")),
    "negative shipping": (salla(shipping=sar("-5")), keys("shipping")),
    "negative subtotal and tax": (salla(subtotal=sar("-1"), tax=sar("-1")),
                                  keys("subtotal", "tax")),
    "negative cash on delivery": (salla(cash_on_delivery=sar("-1")), keys("cash_on_delivery")),
    "non-.pdf document_url": (salla_form(document_url="https://example.com/i.png"),
                              keys("document_url")),
    "upper-case .PDF document_url": (salla_form(document_url="https://example.com/I.PDF"),
                                     keys("document_url")),
    "document_url with a query after .pdf": (
        salla_form(document_url="https://example.com/i.pdf?sig=1"), keys("document_url")),
    "ftp document_url": (salla_form(document_url="ftp://example.com/i.pdf"),
                         keys("document_url")),
    "document_url with a space": (salla_form(document_url="https://example.com/a b.pdf"),
                                  keys("document_url")),
    "every problem at once": (
        salla_form(order_id="x1", total=sar("-1")),
        keys("order_id", "total", "number", "subtotal", "tax_rate", "tax")),
}


# ---- the comparison ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dayzero_pair() -> Iterator[tuple[FakeGateway, Gateway]]:
    fake = FakeGateway(profile="dayzero")
    real = invoicekit.connect("dayzero", token="dz_parity_dummy_token", business_id=BUSINESS,
                              base_url=LOOPBACK)
    with fake, real:
        yield fake, real


@pytest.fixture(scope="module")
def salla_pair() -> Iterator[tuple[FakeGateway, Gateway]]:
    fake = FakeGateway(profile="salla")
    real = invoicekit.connect("salla", token="parity-dummy-token", base_url=LOOPBACK)
    with fake, real:
        yield fake, real


def verdict(gateway: Gateway, draft: InvoiceDraft) -> tuple[Expected, InvoiceDraft | None]:
    """What *gateway* says of *draft*: accepted (and the draft it returns) or the error."""
    refused: errors.InvalidRequest | None = None
    try:
        checked = gateway.check_draft(draft)
    except errors.UnsupportedFeature:
        return UNSUPPORTED, None
    except errors.InvalidRequest as exc:
        refused = exc
    if refused is None:
        return ACCEPTED, checked
    assert type(refused) is errors.InvalidRequest
    assert refused.fields, f"{gateway.provider} refused without naming a field: {refused}"
    return frozenset(refused.fields), None


def assert_parity(pair: tuple[FakeGateway, Gateway], draft: InvoiceDraft,
                  expected: Expected) -> None:
    fake, real = pair
    real_verdict, real_draft = verdict(real, draft)
    fake_verdict, fake_draft = verdict(fake, draft)
    assert fake_verdict == real_verdict, (
        f"the fake's {fake.profile} profile says {fake_verdict}, the plugin {real_verdict}")
    assert real_verdict == expected
    assert fake_draft == real_draft  # the same defaults filled in (Salla's zero shipping)


@pytest.mark.parametrize(("draft", "expected"), list(DAYZERO_CASES.values()),
                         ids=list(DAYZERO_CASES))
def test_dayzero_profile_matches_the_plugin(
        dayzero_pair: tuple[FakeGateway, Gateway], draft: InvoiceDraft,
        expected: Expected) -> None:
    assert_parity(dayzero_pair, draft, expected)


@pytest.mark.parametrize(("draft", "expected"), list(SALLA_CASES.values()),
                         ids=list(SALLA_CASES))
def test_salla_profile_matches_the_plugin(
        salla_pair: tuple[FakeGateway, Gateway], draft: InvoiceDraft,
        expected: Expected) -> None:
    assert_parity(salla_pair, draft, expected)


def test_salla_fills_shipping_and_cash_on_delivery_like_the_plugin(
        salla_pair: tuple[FakeGateway, Gateway]) -> None:
    fake, real = salla_pair
    draft = salla(shipping=None, cash_on_delivery=None)
    for gateway in (fake, real):
        checked = gateway.check_draft(draft)
        assert (checked.shipping, checked.cash_on_delivery) == (sar("0"), sar("0"))


def test_accepted_dayzero_drafts_are_created_by_the_fake(
        dayzero_pair: tuple[FakeGateway, Gateway]) -> None:
    """Accepted means creatable: the fake stores every accepted case (the known customer
    first), and an inline customer comes back with its new id, as from the plugin."""
    fake, _ = dayzero_pair
    fake.reset()
    known = fake.seed(Customer(name="Ada", email="ada@example.com"))[0]
    accepted = [d for d, expected in DAYZERO_CASES.values() if expected == ACCEPTED]
    assert len(accepted) >= 5
    for draft in accepted:
        customer = draft.customer
        assert customer is not None
        if customer.id is not None:
            draft = attrs.evolve(draft, customer=attrs.evolve(customer, id=known.id.upper()))
        created = fake.create_invoice(draft)
        assert created.customer is not None
        assert created.customer.id is not None
        assert created.customer.email == "ada@example.com"
    inline = [c for c in fake.calls if c.operation == "create_customer"]
    assert len(inline) == 1
    fake.reset()
