"""Policies, conversion, the draft's journal form, fingerprints and the verification diff."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from invoicekit import Customer, Invoice, InvoiceDraft, InvoiceKind, LineItem, Money, errors
from invoicekit.migration import (
    CurrencyPolicy,
    CustomerPolicy,
    MigrationPolicy,
    OrderPolicy,
    load_mapping_file,
    marker,
)
from invoicekit.migration._draft import (
    build_draft,
    compare,
    draft_from_json,
    draft_to_json,
    fingerprint,
    without_number,
)


def salla_invoice(**changes: object) -> Invoice:
    sar = "SAR"
    inv = Invoice(
        id="1128904162", provider="salla", number="1", order_id="1152394206",
        issue_date=dt.date(2022, 6, 30), currency=sar,
        customer=Customer(id="77", name="أحمد", email="ahmed@example.sa"),
        items=(LineItem(name="شاحن آنكر 1000", quantity=Decimal(3),
                        unit_price=Money("33.35", sar), total=Money("100.05", sar),
                        sku="PRO-001", product_id="977135276"),),
        subtotal=Money("100.05", sar), shipping=Money("23", sar),
        cash_on_delivery=Money("0", sar), discount=Money("0", sar), tax_rate=Decimal(15),
        tax=Money("18.46", sar), total=Money("141.51", sar))
    return attrs.evolve(inv, **changes)


RATE = CurrencyPolicy({("SAR", "USD"): Decimal("0.2666")})


def test_rates_parse_and_refuse_bad_input() -> None:
    policy = CurrencyPolicy.parse(["ر.س:USD=0.2666", "KWD:EUR=3.01"])
    assert policy.rate_for("SAR") == ("USD", Decimal("0.2666"))
    assert policy.rate_for("KWD") == ("EUR", Decimal("3.01"))
    assert policy.rate_for("USD") is None
    with pytest.raises(errors.InvalidRequest, match="FROM:TO=RATE"):
        CurrencyPolicy.parse(["SAR-USD"])
    with pytest.raises(errors.InvalidRequest, match="float"):
        CurrencyPolicy({("SAR", "USD"): 0.2666})
    with pytest.raises(errors.InvalidRequest, match="one target currency"):
        CurrencyPolicy({("SAR", "USD"): Decimal(1), ("SAR", "EUR"): Decimal(1)})
    with pytest.raises(errors.InvalidRequest, match="positive"):
        CurrencyPolicy.parse(["SAR:USD=0"])
    with pytest.raises(errors.InvalidRequest, match="rounding"):
        CurrencyPolicy(rounding="ROUND_SOMETIMES")


def test_mapping_files_json_and_csv(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"ahmed@example.sa": "cus-1", "42": 7}', "utf-8")
    (tmp_path / "m.csv").write_text("source,target\nF-1, 900\n\n1128904162,901\n", "utf-8")
    assert load_mapping_file(tmp_path / "m.json") == {"ahmed@example.sa": "cus-1", "42": "7"}
    assert load_mapping_file(tmp_path / "m.csv") == {"F-1": "900", "1128904162": "901"}
    (tmp_path / "bad.csv").write_text("a,b,c\n", "utf-8")
    with pytest.raises(errors.ConfigurationError, match="line 1"):
        load_mapping_file(tmp_path / "bad.csv")
    (tmp_path / "bad.json").write_text("[1]", "utf-8")
    with pytest.raises(errors.ConfigurationError, match="JSON object"):
        load_mapping_file(tmp_path / "bad.json")
    with pytest.raises(errors.ConfigurationError, match="cannot read"):
        load_mapping_file(tmp_path / "missing.csv")


def test_lookups_by_id_email_and_number() -> None:
    customers = CustomerPolicy(mapping={"AHMED@example.sa": "cus-1", "99": "cus-2",
                                        "order:1152394206": "cus-3"})
    inv = salla_invoice()
    assert customers.lookup(inv) == "cus-1"
    assert customers.lookup(attrs.evolve(inv, customer=Customer(id="99"))) == "cus-2"
    assert customers.lookup(attrs.evolve(inv, customer=None)) == "cus-3"
    nobody = attrs.evolve(inv, customer=None, order_id="1")
    assert customers.lookup(nobody) is None
    resolved = Customer(name="سارة", email="sara@example.sa")
    assert CustomerPolicy(resolver=lambda i: resolved).lookup(nobody) == resolved
    assert CustomerPolicy(resolver=lambda i: 12).lookup(nobody) == "12"
    orders = OrderPolicy(mapping={"1": "555"}, resolver=lambda inv: None)
    assert orders.lookup(salla_invoice()) == "555"  # by number
    assert OrderPolicy(resolver=lambda inv: 7).lookup(salla_invoice()) == "7"


def test_conversion_rounds_half_up_and_keeps_the_invoice_adding_up() -> None:
    conv = build_draft(salla_invoice(), MigrationPolicy(currency=RATE), source_provider="salla",
                       customer=None, order_id=None)
    d = conv.draft
    assert d.currency == "USD"
    item = d.items[0]
    assert item.unit_price == Money("8.89", "USD")  # 33.35 * 0.2666 = 8.89111
    assert item.total == Money("26.67", "USD")      # 3 x 8.89: the line still adds up
    assert d.subtotal == Money("26.67", "USD")
    assert d.shipping == Money("6.13", "USD")       # 23 * 0.2666 = 6.1318
    assert d.tax == Money("4.92", "USD")            # 18.46 * 0.2666 = 4.921436
    assert d.total == Money("37.72", "USD")         # 26.67 + 6.13 + 4.92
    assert all(isinstance(m.amount, Decimal) for m in d.amounts())
    assert item.product_id is None                   # a source-side id means nothing there
    assert "original total 141.51 SAR" in (d.description or "")
    assert "0.2666" in (d.description or "")
    assert (d.description or "").endswith(marker("salla", "1128904162"))


def test_half_up_is_the_stated_rounding() -> None:
    inv = salla_invoice(items=(), subtotal=None, total=Money("0.05", "SAR"), shipping=None,
                        tax=None, cash_on_delivery=None, discount=None)
    up = build_draft(inv, MigrationPolicy(currency=CurrencyPolicy({("SAR", "USD"): "0.5"})),
                     source_provider="s", customer=None, order_id=None).draft
    even = build_draft(inv, MigrationPolicy(currency=CurrencyPolicy(
        {("SAR", "USD"): "0.5"}, rounding="ROUND_HALF_EVEN")), source_provider="s",
        customer=None, order_id=None).draft
    assert up.total == Money("0.03", "USD")    # 0.025 -> 0.03
    assert even.total == Money("0.02", "USD")  # 0.025 -> 0.02


def test_extras_as_lines_add_up_to_the_total() -> None:
    policy = MigrationPolicy(currency=RATE, extras_as_lines=True)
    d = build_draft(salla_invoice(), policy, source_provider="salla", customer=None,
                    order_id=None).draft
    assert [i.name for i in d.items] == ["شاحن آنكر 1000", "Shipping", "Tax (15%)"]
    assert d.shipping is None
    assert d.tax is None
    assert d.subtotal is None
    assert d.tax_rate is None
    assert sum((i.total.amount for i in d.items if i.total), Decimal(0)) == d.total.amount  # type: ignore[union-attr]


def test_due_days_and_number_notes() -> None:
    ahmed = Customer(id="c", name="أحمد", email="ahmed@example.sa")
    d = build_draft(salla_invoice(), MigrationPolicy(due_days=30), source_provider="salla",
                    customer=ahmed, order_id="9").draft
    assert d.due_date == dt.date(2022, 7, 30)
    assert d.customer == Customer(id="c", name="أحمد", email="ahmed@example.sa")
    assert d.currency == "SAR"
    assert d.total == Money("141.51", "SAR")
    bare = without_number(d)
    assert bare.number is None
    assert "Source invoice number: 1\n[invoicekit-migrate src=salla:1128904162]" in (
        bare.description or "")


# The journal's JSON form of a draft, written out by hand: amounts as [text, currency] pairs
# so no digit or exponent is lost, keys sorted, Arabic kept as it is.
_ONE_LINE_JSON = (
    '{"cash_on_delivery":null,"currency":"USD","customer":{"email":null,"id":"c1","name":null,'
    '"phone":null,"tax_id":null},"description":null,"discount":null,"document_url":null,'
    '"due_date":null,"from_order":false,"issue_date":"2024-03-01","items":[{"discount":null,'
    '"kind":null,"name":"شاحن","product_id":null,"quantity":"3","sku":null,"tax":null,'
    '"tax_rate":null,"total":["26.67","USD"],"unit_price":["8.89","USD"]}],"kind":"invoice",'
    '"number":null,"order_id":null,"shipping":null,"subtotal":null,"tax":null,"tax_rate":null,'
    '"total":["26.67","USD"]}')
_ONE_LINE = InvoiceDraft(
    customer=Customer(id="c1"), issue_date=dt.date(2024, 3, 1), currency="USD",
    items=(LineItem(name="شاحن", quantity=Decimal(3), unit_price=Money("8.89", "USD"),
                    total=Money("26.67", "USD")),),
    total=Money("26.67", "USD"))


def test_draft_json_is_the_documented_form() -> None:
    assert draft_to_json(_ONE_LINE) == _ONE_LINE_JSON
    read = draft_from_json(_ONE_LINE_JSON)
    assert read == _ONE_LINE
    assert str(read.items[0].unit_price.amount) == "8.89"  # the exponent is kept
    assert draft_to_json(InvoiceDraft(order_id="5", document_url="https://x.example/a.pdf",
                                      kind=InvoiceKind.CREDIT_NOTE)) == (
        '{"cash_on_delivery":null,"currency":null,"customer":null,"description":null,'
        '"discount":null,"document_url":"https://x.example/a.pdf","due_date":null,'
        '"from_order":false,"issue_date":null,"items":[],"kind":"credit_note","number":null,'
        '"order_id":"5","shipping":null,"subtotal":null,"tax":null,"tax_rate":null,'
        '"total":null}')


def test_draft_json_round_trip_is_exact() -> None:
    d = build_draft(salla_invoice(), MigrationPolicy(currency=RATE, due_days=3),
                    source_provider="salla", customer=Customer(id="c1"), order_id="5").draft
    assert draft_from_json(draft_to_json(d)) == d
    pdf = InvoiceDraft(order_id="5", document_url="https://x.example/a.pdf",
                       kind=InvoiceKind.CREDIT_NOTE)
    assert draft_from_json(draft_to_json(pdf)) == pdf


def test_fingerprint_follows_content_not_status() -> None:
    inv = salla_invoice()
    from invoicekit import InvoiceStatus

    assert fingerprint(inv) == fingerprint(attrs.evolve(inv, status=InvoiceStatus.PAID))
    assert fingerprint(inv) != fingerprint(attrs.evolve(inv, total=Money("141.52", "SAR")))


def test_fingerprints_stay_what_earlier_versions_recorded() -> None:
    # A journal keeps the fingerprints of the invoices it copied; a fingerprint computed
    # differently after an upgrade would report every one of them changed at the source.
    inv = salla_invoice()
    assert fingerprint(inv) == "5eb74a8d0e63938ac03b1d36984d4083"
    odd = attrs.evolve(inv, description='"quoted" \\ back\nslash\t\x01 \u2028 😀 عربي /')
    assert fingerprint(odd) == "3fa178c98c1829dbca29f82695940245"


def test_compare_lists_every_mismatch() -> None:
    d = build_draft(salla_invoice(), MigrationPolicy(currency=RATE, extras_as_lines=True),
                    source_provider="salla", customer=None, order_id=None).draft
    same = Invoice(id="t1", provider="dz", kind=d.kind, issue_date=d.issue_date,
                   currency="USD", items=d.items, total=d.total)
    assert compare("s1", d, same) == []
    wrong_items = (attrs.evolve(d.items[0], quantity=Decimal(2)), *d.items[1:])
    off = attrs.evolve(same, total=Money("37.71", "USD"), items=wrong_items,
                       issue_date=dt.date(2022, 7, 1))
    found = {m.field: m for m in compare("s1", d, off)}
    assert set(found) == {"total", "items[0].quantity", "issue_date"}
    assert found["total"].expected == "37.72 USD"
    assert found["total"].actual == "37.71 USD"
    assert "s1 -> t1: total" in str(found["total"])
