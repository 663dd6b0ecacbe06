"""Money: an exact amount in one ISO 4217 currency.

`Money` holds a `decimal.Decimal` and a currency code. It refuses floats (a float
cannot hold most decimal amounts exactly, and an invoice total that is off by a
fraction of a cent is a wrong tax document), knows how many minor units each
currency has, and only adds or subtracts amounts in the same currency.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any, Final, SupportsIndex

import attrs

from .errors import InvalidRequest

__all__ = ["CURRENCY_ALIASES", "MINOR_UNITS", "Money", "normalize_currency", "to_decimal"]

# ISO 4217 active codes and their minor units (exponent). Codes absent here are refused.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
    "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR "
    "SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD "
    "TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)

MINOR_UNITS: Final[dict[str, int]] = {
    **dict.fromkeys(_EXPONENT_2.split(), 2),
    **dict.fromkeys(_EXPONENT_0.split(), 0),
    **dict.fromkeys(_EXPONENT_3.split(), 3),
    **dict.fromkeys(_EXPONENT_4.split(), 4),
}
"""Minor units per ISO 4217 code: `MINOR_UNITS["SAR"] == 2`, `MINOR_UNITS["KWD"] == 3`."""

CURRENCY_ALIASES: Final[dict[str, str]] = {
    "ر.س": "SAR",  # Arabic abbreviation of the Saudi riyal, as Salla sends it
    "ر.س.": "SAR",
    "\u20c1": "SAR",  # SAUDI RIYAL SIGN (Unicode 17)
    "﷼": "SAR",  # RIAL SIGN, seen in the wild for the riyal
}
"""Symbols and local abbreviations providers send instead of an ISO code."""


def normalize_currency(value: object) -> str:
    """Return the ISO 4217 code for *value*, accepting the aliases in `CURRENCY_ALIASES`.

    Raises `InvalidRequest` (a `ValueError`) for anything that is not a known code.
    """
    if value.__class__ is str and value in MINOR_UNITS:
        return value  # the common case: already a code
    if not isinstance(value, str):
        raise InvalidRequest(f"currency must be a string ISO 4217 code, got {type(value).__name__}")
    text = value.strip()
    alias = CURRENCY_ALIASES.get(text)
    if alias is not None:
        return alias
    code = text.upper()
    if code not in MINOR_UNITS:
        raise InvalidRequest(f"unknown currency {value!r}: expected an ISO 4217 code such as 'SAR'")
    return code


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Convert *value* to `Decimal` exactly: from `Decimal`, `int` or a numeric string only.

    Floats are refused (they cannot hold most decimal amounts), and so are bools, NaN and
    infinities. Raises `InvalidRequest`.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise InvalidRequest(f"{what} must be a Decimal, int or numeric string, not a bool")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidRequest(f"{what} {value!r} is not a number") from None
    elif isinstance(value, float):
        raise InvalidRequest(
            f"{what} must not be a float ({value!r}): floats cannot hold money exactly; "
            f"pass Decimal({str(value)!r}) or the string {str(value)!r}"
        )
    else:
        raise InvalidRequest(
            f"{what} must be a Decimal, int or numeric string, got {type(value).__name__}"
        )
    if not result.is_finite():
        raise InvalidRequest(f"{what} must be a finite number, got {value!r}")
    return result


# For `Money.from_minor`, which builds an instance whose fields are already checked.
_new_object = object.__new__
_set_field = object.__setattr__


def _amount(value: object) -> Decimal:
    # The common case first (every plugin passes a checked Decimal): no second conversion.
    if type(value) is Decimal and value.is_finite():
        return value
    return to_decimal(value, what="Money amount")


@attrs.frozen(slots=True, repr=False, order=False)
class Money:
    """An exact amount of one currency.

    ```python
    Money(Decimal("90.50"), "SAR")      # or Money("90.50", "ر.س")
    Money.from_minor(15000, "USD")      # Money('150.00', 'USD')
    ```

    The amount is converted to `Decimal` exactly (floats are refused); the currency is
    normalised to its ISO 4217 code (`"ر.س"` and the riyal signs become `"SAR"`).
    Arithmetic works within one currency only; comparing amounts of two currencies
    raises `InvalidRequest`.
    """

    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(converter=normalize_currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Build from an integer count of minor units (cents, halalas, fils...)."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise InvalidRequest(f"minor units must be an int, got {type(minor).__name__}")
        code = normalize_currency(currency)
        amount = Decimal(minor).scaleb(-MINOR_UNITS[code])
        if cls is not Money or not amount.is_finite():
            return cls(amount, code)
        # Both fields are already what the converters would make of them (a finite
        # `Decimal`, a normalised code): set them as attrs' own `__init__` does, without
        # running the converters a second time (plugins build thousands of these).
        money = _new_object(Money)
        _set_field(money, "amount", amount)
        _set_field(money, "currency", code)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in *currency*."""
        return cls(Decimal(0), currency)

    @property
    def minor_units(self) -> int:
        """How many decimal places this currency's minor unit has (2 for SAR and USD)."""
        return MINOR_UNITS[self.currency]

    def to_minor(self) -> int:
        """The amount as an integer count of minor units, exactly.

        Raises `InvalidRequest` if the amount has more decimal places than the currency
        allows (`Money("1.005", "USD").to_minor()`): nothing is rounded silently.
        """
        scaled = self.amount.scaleb(self.minor_units)
        if scaled != scaled.to_integral_value():
            raise InvalidRequest(
                f"{self} has more than {self.minor_units} decimal places for {self.currency}; "
                "round it explicitly before converting to minor units"
            )
        return int(scaled)

    def is_exact_in_minor_units(self) -> bool:
        """Whether `to_minor()` would succeed without rounding."""
        scaled = self.amount.scaleb(self.minor_units)
        return scaled == scaled.to_integral_value()

    def quantize(self, rounding: str = decimal.ROUND_HALF_UP) -> Money:
        """Round to the currency's minor unit with an explicit rounding mode."""
        exp = Decimal(1).scaleb(-self.minor_units)
        return Money(self.amount.quantize(exp, rounding=rounding), self.currency)

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidRequest(
                f"cannot {op} {self.currency} and {other.currency}: convert one currency first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other, "subtract").amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor, what="factor"), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __round__(self, ndigits: SupportsIndex | None = None) -> Any:
        raise TypeError("round() is ambiguous for money; use Money.quantize(rounding=...)")

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
