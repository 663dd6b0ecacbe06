"""DayZero's rules, in one place: the id form, the currencies, and what a draft must be.

The provider (`DayZeroProvider.check_draft`), the writer (`_wire.invoice_body`, which
trusts a checked draft) and the sandbox (`sandbox.DayZeroSandbox`, which refuses the same
ids and currencies the way DayZero's API does) all use the objects defined here, so a rule
cannot be stated twice and drift.

`check_draft` is the one check of a draft: the gateway calls it exactly once per create,
after `Provider.check_features` has refused credit notes and document forms; nothing
after it checks the draft again.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Final

from invoicekit import Customer, InvoiceDraft, LineItem, Money
from invoicekit.provider import MINOR_UNITS, DraftProblems, IdPattern

__all__ = [
    "DAYZERO_ID",
    "MAX_CENTS",
    "PROVIDER",
    "SUPPORTED_CURRENCIES",
    "check_draft",
]

PROVIDER: Final = "dayzero"
"""The registry name, for the errors the plugin raises."""

DAYZERO_ID: Final = IdPattern(
    "DayZero id (a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)",
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
)
"""DayZero ids (invoices, customers, businesses) are UUIDs; nothing else enters a URL."""

SUPPORTED_CURRENCIES: Final = ("USD", "CAD", "AUD", "EUR", "GBP")
"""The only currencies DayZero invoices can be in (from DayZero's create-invoice docs)."""

MAX_CENTS: Final = 2**53 - 1
"""The largest amount, in cents, a draft may carry (about 90 trillion dollars).

DayZero's docs give no limit. Its amounts travel as JSON integers, and 2**53 - 1 is the
largest integer every JSON implementation reads exactly (a JavaScript client rounds past
it), so a larger amount is refused here rather than risk a different number on the other
side. Reading is not limited: what DayZero sends is read exactly, whatever its size.
"""

# An exact context for the cents arithmetic below: amounts are checked against MAX_CENTS
# before they are scaled, so no result here can need more than a few dozen digits, but
# the caller's own (thread-local) context must not round or trap for us.
_EXACT: Final = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX,
                                Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation])
_LARGEST: Final = Decimal(MAX_CENTS).scaleb(-2, _EXACT)


def _cents(money: Money) -> int | str:
    """*money* as whole cents, or the reason DayZero cannot take it."""
    amount = money.amount
    exponent = MINOR_UNITS.get(money.currency, 2)
    # `adjusted()` is the power of ten of the leading digit (no arithmetic, no overflow):
    # `Decimal("1e999999")` is refused here, before anything would scale it.
    if amount.adjusted() + exponent > 15 and amount:
        return f"{money} is beyond the largest amount DayZero takes ({_LARGEST} in a " \
               "currency with cents)"
    scaled = amount.scaleb(exponent, _EXACT)
    cents = int(scaled)  # truncated, exactly; compared below
    if cents != scaled:
        return f"{money} has a fraction of a cent; DayZero amounts are whole cents"
    if not -MAX_CENTS <= cents <= MAX_CENTS:
        return f"{money} is beyond the largest amount DayZero takes ({_LARGEST} in a " \
               "currency with cents)"
    return cents


def _quantity(quantity: Decimal) -> int | str:
    """*quantity* as a whole number of at least 1, or the reason DayZero cannot take it."""
    if quantity.adjusted() > 15 and quantity:
        return f"a quantity of {quantity} is beyond what DayZero takes"
    whole = int(quantity)
    if whole != quantity:
        return f"DayZero quantities are whole numbers; {quantity} is fractional"
    if whole < 1:
        return f"DayZero quantities are at least 1, got {quantity}"
    return whole


def _line(index: int, item: LineItem, problems: DraftProblems) -> int | None:
    """Check line item *index*; its amount in cents when it has one (quantity x price)."""
    if not isinstance(item.name, str) or not item.name.strip():
        problems.add(f"items.{index}.name", "DayZero needs a description for each line item")
    quantity = _quantity(item.quantity)
    if isinstance(quantity, str):
        problems.add(f"items.{index}.quantity", quantity)
    price = _cents(item.unit_price)
    if isinstance(price, str):
        problems.add(f"items.{index}.unit_price", price)
    total = None if item.total is None else _cents(item.total)
    if isinstance(total, str):
        problems.add(f"items.{index}.total", total)
    if item.discount is not None and item.discount.amount != 0:
        problems.add(f"items.{index}.discount", "DayZero line items have no discount; add it "
                                                "as its own line item")
    if item.tax is not None and item.tax.amount != 0:
        problems.add(f"items.{index}.tax", "DayZero line items have no tax; add it as its "
                                           "own line item")
    if item.tax_rate is not None and item.tax_rate != 0:
        problems.add(f"items.{index}.tax_rate", "DayZero line items have no tax rate")
    if isinstance(quantity, str) or isinstance(price, str):
        return None
    line = quantity * price
    if line > MAX_CENTS:
        problems.add(f"items.{index}.total", "quantity x unit price is beyond the largest "
                                             "amount DayZero takes")
        return None
    if isinstance(total, int) and total != line:
        problems.add(f"items.{index}.total",
                     f"the line total {item.total} is not quantity x unit price "
                     f"({_money(line, item.unit_price)}), which is what DayZero will charge")
    return line


def _check_customer(customer: object, problems: DraftProblems) -> None:
    if customer is None:
        problems.add("customer", "DayZero needs a customer: an existing id, or a name and an "
                                 "email")
    elif not isinstance(customer, Customer):
        problems.add("customer", f"expected a Customer, got {type(customer).__name__}")
    elif customer.id is not None:
        if not DAYZERO_ID.matches(customer.id):
            problems.add("customer.id", f"{customer.id[:80]!r} is not a {DAYZERO_ID.label}")
    elif not customer.name or not customer.email:
        problems.add("customer", "a customer without an id is created first, and DayZero "
                                 "needs both its name and its email for that")


def _check_header(draft: InvoiceDraft, problems: DraftProblems) -> None:
    currency = draft.effective_currency
    if currency is not None and currency not in SUPPORTED_CURRENCIES:
        problems.add("currency",
                     f"DayZero invoices can only be in {', '.join(SUPPORTED_CURRENCIES)}; a "
                     f"{currency} invoice cannot be created on DayZero (convert the amounts "
                     "first)")
    if not draft.items:
        problems.add("items", "DayZero needs at least one line item")
    if draft.due_date is None:
        problems.add("due_date", "DayZero needs a due date")
    # The draft's annotations are not enforced at run time: what the writer puts in the
    # body must really be a date or a string.
    for field, value, cls, what in (("due_date", draft.due_date, dt.date, "a date"),
                                    ("issue_date", draft.issue_date, dt.date, "a date"),
                                    ("description", draft.description, str, "a string")):
        if value is not None and not isinstance(value, cls):
            problems.add(field, f"expected {what}, got {type(value).__name__}")
    _check_customer(draft.customer, problems)
    if draft.number is not None:
        problems.add("number", "DayZero assigns the invoice number when the invoice is "
                               "finalized; it cannot be set")
    if draft.order_id is not None:
        problems.add("order_id", "DayZero invoices are not tied to orders; leave order_id "
                                 "unset")
    for name in ("shipping", "cash_on_delivery", "discount", "tax"):
        money = getattr(draft, name)
        if money is not None and money.amount != 0:
            problems.add(name, f"DayZero invoices have no {name.replace('_', ' ')} amount; add "
                               "it as a line item so the total stays the same")
    if draft.tax_rate is not None and draft.tax_rate != 0:
        problems.add("tax_rate", "DayZero invoices have no tax rate; include the tax as a "
                                 "line item")


def check_draft(draft: InvoiceDraft) -> InvoiceDraft:
    """Return *draft* if DayZero can take it as it is; otherwise raise `InvalidRequest`
    whose `fields` name every problem at once (`items.0.quantity`, `due_date`, ...).

    Refused: a currency other than `SUPPORTED_CURRENCIES`; no line items, due date or
    customer; a new customer without a name and an email; a customer id that is not a
    UUID; a `number` or `order_id` (DayZero numbers invoices and has no orders); non-zero
    tax, shipping, cash on delivery or discounts (DayZero has no such fields); fractional
    or non-positive quantities; amounts with a fraction of a cent or beyond `MAX_CENTS`;
    totals that differ from what the line items add up to (what DayZero will charge).
    All arithmetic is exact, in integer cents: no amount, however large, raises a bare
    `decimal` error.
    """
    problems = DraftProblems(PROVIDER)
    _check_header(draft, problems)
    computed: int | None = 0
    for index, item in enumerate(draft.items):
        line = _line(index, item, problems)
        computed = None if line is None or computed is None else computed + line
    if computed is not None and computed > MAX_CENTS:
        problems.add("items", "the line items add up to more than the largest amount DayZero "
                              "takes")
        computed = None
    for name, money in (("subtotal", draft.subtotal), ("total", draft.total)):
        if money is None:
            continue
        cents = _cents(money)
        if isinstance(cents, str):
            problems.add(name, cents)
        elif computed is not None and draft.items and cents != computed:
            problems.add(name, f"the draft's {name} {money} differs from the sum of its line "
                               f"items ({_money(computed, money)}), which is what DayZero "
                               "will charge")
    problems.raise_if_any()
    return draft


def _money(cents: int, like: Money) -> Money:
    """*cents* in *like*'s currency, for a message."""
    return Money(Decimal(cents).scaleb(-MINOR_UNITS.get(like.currency, 2), _EXACT),
                 like.currency)
