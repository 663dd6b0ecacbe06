"""Migration policies: every choice that changes what lands on the target, stated by the user.

Nothing here has a default that changes money or invents data: without a currency rate
an invoice keeps its currency (and a target that cannot take it says so in the plan);
without a customer or order policy an invoice that needs one is reported as
"needs mapping", not guessed.
"""

from __future__ import annotations

import csv
import decimal
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from .. import errors
from .._model import Customer, Invoice
from .._money import normalize_currency, to_decimal

__all__ = [
    "CurrencyPolicy",
    "CustomerPolicy",
    "MigrationPolicy",
    "OrderPolicy",
    "load_mapping_file",
]


def _rates(value: Mapping[tuple[str, str], Any]) -> Mapping[tuple[str, str], Decimal]:
    rates: dict[tuple[str, str], Decimal] = {}
    sources: set[str] = set()
    for pair, rate in dict(value).items():
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise errors.InvalidRequest(
                f"a currency rate is keyed by a (from, to) pair of codes, got {pair!r}")
        src, dst = normalize_currency(pair[0]), normalize_currency(pair[1])
        amount = to_decimal(rate, what=f"rate {src}->{dst}")
        if amount <= 0:
            raise errors.InvalidRequest(f"rate {src}->{dst} must be positive, got {amount}")
        if src == dst:
            raise errors.InvalidRequest(f"a rate from {src} to itself is meaningless")
        if src in sources:
            raise errors.InvalidRequest(
                f"two rates convert from {src}: give one target currency per source currency")
        sources.add(src)
        rates[(src, dst)] = amount
    return rates


@attrs.frozen(slots=True)
class CurrencyPolicy:
    """Convert amounts of one currency into another at a rate the user gives.

    `rates[("SAR", "USD")] = Decimal("0.2666")` means 1 SAR = 0.2666 USD. Each amount
    becomes `amount * rate`, rounded to the target currency's minor units with
    `rounding` (`ROUND_HALF_UP` unless stated), except amounts that are sums of other
    amounts in the source invoice (line totals, subtotal, total): those stay the same
    sums of the converted parts, so the target invoice adds up. The original amount and
    the rate are written into the target invoice's description.
    """

    rates: Mapping[tuple[str, str], Decimal] = attrs.field(factory=dict, converter=_rates)
    rounding: str = decimal.ROUND_HALF_UP

    def __attrs_post_init__(self) -> None:
        valid = {v for k, v in vars(decimal).items() if k.startswith("ROUND_")}
        if self.rounding not in valid:
            raise errors.InvalidRequest(f"unknown rounding mode {self.rounding!r}")

    @classmethod
    def parse(cls, specs: Iterable[str], *, rounding: str = decimal.ROUND_HALF_UP
              ) -> CurrencyPolicy:
        """Build from `"SAR:USD=0.2666"` strings (the CLI's `--rate`)."""
        rates: dict[tuple[str, str], Decimal] = {}
        for spec in specs:
            pair, sep, rate = spec.partition("=")
            src, colon, dst = pair.partition(":")
            if not sep or not colon or not src.strip() or not dst.strip() or not rate.strip():
                raise errors.InvalidRequest(
                    f"a rate is written FROM:TO=RATE, for example SAR:USD=0.2666; got {spec!r}")
            key = (normalize_currency(src), normalize_currency(dst))
            if key in rates:
                raise errors.InvalidRequest(f"the rate {key[0]}:{key[1]} is given twice")
            rates[key] = to_decimal(rate, what=f"rate {key[0]}:{key[1]}")
        return cls(rates, rounding)

    def rate_for(self, currency: str) -> tuple[str, Decimal] | None:
        """`(target currency, rate)` for amounts in *currency*, or `None` (kept as is)."""
        for (src, dst), rate in self.rates.items():
            if src == currency:
                return dst, rate
        return None


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """Read a mapping file: a JSON object `{"source": "target"}` or a two-column CSV.

    CSV rows are `source,target`; a first row `source,target` is taken as a header.
    Raises `ConfigurationError` naming the file for anything unreadable.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.ConfigurationError(f"cannot read mapping file {str(file)!r}: {exc}") from exc
    mapping: dict[str, str] = {}
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise errors.ConfigurationError(
                f"mapping file {str(file)!r} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
            for k, v in data.items()
        ):
            raise errors.ConfigurationError(
                f"mapping file {str(file)!r} must be a JSON object of source -> target ids")
        return {k.strip(): str(v).strip() for k, v in data.items()}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise errors.ConfigurationError(
                f"mapping file {str(file)!r} line {number}: expected two columns "
                f"(source,target), got {len(row)}")
        src, dst = row[0].strip(), row[1].strip()
        if number == 1 and (src.lower(), dst.lower()) == ("source", "target"):
            continue
        if not src or not dst:
            raise errors.ConfigurationError(
                f"mapping file {str(file)!r} line {number}: empty source or target")
        mapping[src] = dst
    return mapping


def _str_mapping(value: Mapping[str, Any] | None) -> Mapping[str, str]:
    return {str(k).strip(): str(v).strip() for k, v in dict(value or {}).items()}


@attrs.frozen(slots=True)
class CustomerPolicy:
    """How a source invoice's customer becomes a customer of a target that keeps customers.

    `mapping` maps to a target customer id from, in this order: the source customer's id,
    its email (case-insensitive), `invoice:<source invoice id>` or `order:<source order
    id>` (for sources whose invoices name no customer, such as Salla). `resolver` is called
    with the source `Invoice` when the mapping has no entry: return a target customer id,
    a `Customer` (name and email, to be created by email), or `None`. With
    `create_by_email`, a customer with an email and no mapping is created on the target
    once (the new id is kept in the journal and reused); one without an email still needs
    a mapping, and the plan says so.
    """

    create_by_email: bool = False
    mapping: Mapping[str, str] = attrs.field(factory=dict, converter=_str_mapping)
    resolver: Callable[[Invoice], str | Customer | None] | None = None

    @classmethod
    def from_file(cls, path: str | Path, *, create_by_email: bool = False) -> CustomerPolicy:
        """The policy with the mapping read by `load_mapping_file`."""
        return cls(create_by_email=create_by_email, mapping=load_mapping_file(path))

    def lookup(self, invoice: Invoice) -> str | Customer | None:
        """The target customer id for *invoice* (or the `Customer` the resolver names)."""
        cust = invoice.customer
        if cust is not None and cust.id is not None and cust.id in self.mapping:
            return self.mapping[cust.id]
        if cust is not None and cust.email:
            wanted = cust.email.strip().lower()
            for key, value in self.mapping.items():
                if key.lower() == wanted:
                    return value
        for key in (f"invoice:{invoice.id}", f"order:{invoice.order_id}"):
            if key in self.mapping:
                return self.mapping[key]
        if self.resolver is not None:
            found = self.resolver(invoice)
            if found is None or isinstance(found, Customer):
                return found
            return str(found)
        return None


@attrs.frozen(slots=True)
class OrderPolicy:
    """Which target order an invoice belongs to, for targets that require one (Salla).

    `mapping` maps a source invoice id (or, failing that, its number) to a target order id;
    `resolver` is called with the source `Invoice` when the mapping has no entry (return
    `None` for "unknown"). With `attach_pdf`, the invoice is carried as its source PDF
    (a `document_url` draft) instead of line items; it still needs an order.
    """

    mapping: Mapping[str, str] = attrs.field(factory=dict, converter=_str_mapping)
    resolver: Callable[[Invoice], str | None] | None = None
    attach_pdf: bool = False

    @classmethod
    def from_file(cls, path: str | Path, *, attach_pdf: bool = False) -> OrderPolicy:
        """The policy with the mapping read by `load_mapping_file`."""
        return cls(mapping=load_mapping_file(path), attach_pdf=attach_pdf)

    def lookup(self, invoice: Invoice) -> str | None:
        """The target order id for *invoice*, or `None`."""
        if invoice.id in self.mapping:
            return self.mapping[invoice.id]
        if invoice.number is not None and invoice.number in self.mapping:
            return self.mapping[invoice.number]
        if self.resolver is not None:
            found = self.resolver(invoice)
            return None if found is None else str(found)
        return None


def _due_days(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.InvalidRequest(f"due_days must be a non-negative int, got {value!r}")
    return value


@attrs.frozen(slots=True)
class MigrationPolicy:
    """All the choices of one migration, in one value.

    * `currency`: rates for converting amounts (`CurrencyPolicy`).
    * `customers`: how customers are found or created on the target (`CustomerPolicy`).
    * `orders`: how target orders are found, or the PDF form (`OrderPolicy`).
    * `due_days`: for a source invoice without a due date, use its issue date plus this
      many days (targets such as DayZero require a due date); the note goes in the
      description. `None`: leave it empty and let the target decide.
    * `extras_as_lines`: carry shipping, cash-on-delivery, tax and discount as line items,
      for targets whose invoices have line items only.
    """

    currency: CurrencyPolicy = attrs.field(factory=CurrencyPolicy)
    customers: CustomerPolicy = attrs.field(factory=CustomerPolicy)
    orders: OrderPolicy = attrs.field(factory=OrderPolicy)
    due_days: int | None = attrs.field(default=None, converter=_due_days)
    extras_as_lines: bool = False
