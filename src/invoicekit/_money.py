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


_ROUNDINGS = frozenset({
    decimal.ROUND_05UP, decimal.ROUND_CEILING, decimal.ROUND_DOWN, decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_DOWN, decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_UP, decimal.ROUND_UP,
})

# For `Money.from_minor`, which builds an instance whose fields are already checked.
_new_object = object.__new__
_set_field = object.__setattr__

_MAX_DIGITS = 100  # an amount has at most this many digits before the point, and its
_MAX_PLACES = 100  # first significant digit at most this many places after it: far
# beyond any money, small enough to compute with exactly. Arithmetic runs in a context of
# over 400 significant digits (exact for any amounts of sensible length) and traps
# `Inexact` all the same: nothing is rounded silently (the default context rounds to 28
# digits); a result that cannot be exact is `InvalidRequest`.
_EXACT = decimal.Context(
    prec=2 * (_MAX_DIGITS + _MAX_PLACES) + 10, rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Overflow, decimal.InvalidOperation,
           decimal.DivisionByZero],
)


_exact_scaleb = _EXACT.scaleb


def _in_range(value: Decimal) -> bool:
    return not value or -_MAX_PLACES <= value.adjusted() < _MAX_DIGITS


def _checked(value: Decimal, what: str = "Money amount") -> Decimal:
    if not _in_range(value):
        raise InvalidRequest(
            f"{what} {value!s:.40} is out of range: money has at most {_MAX_DIGITS} digits "
            f"before the decimal point, and is zero or at least 1E-{_MAX_PLACES}")
    return value


def _amount(value: object) -> Decimal:
    # The common case first (every plugin passes a checked Decimal): no second conversion.
    if type(value) is Decimal and value.is_finite() and (
            -_MAX_PLACES <= value.adjusted() < _MAX_DIGITS):  # `_in_range`, inlined
        return value
    return _checked(to_decimal(value, what="Money amount"))


def _exact(operation: str, compute: Any) -> Decimal:
    """Run *compute* in the exact context: its result, or `InvalidRequest` if it cannot be
    represented exactly (never a bare `decimal` error)."""
    try:
        with decimal.localcontext(_EXACT):
            result: Decimal = compute()
    except (decimal.DecimalException, ValueError, TypeError) as exc:
        raise InvalidRequest(
            f"cannot {operation} exactly: {type(exc).__name__}") from exc
    return _checked(result, f"the result of {operation}")


def _shift(value: Decimal, places: int) -> Decimal:
    """*value* times 10**places, exactly (`scaleb` rounds to the context's precision)."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, digits, exponent + places))  # type: ignore[operator]


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
        bits = minor.bit_length()
        if bits > 4 * (_MAX_DIGITS + 4):  # surely out of range: skip the work
            raise InvalidRequest(f"{bits}-bit minor units are out of range for money "
                                 f"({_MAX_DIGITS} digits at most)")
        # Exact: the default context would round past 28 digits.
        amount = _exact_scaleb(Decimal(minor), -MINOR_UNITS[code])
        if bits > 3 * _MAX_DIGITS:  # below that (90 digits) surely in range
            _checked(amount)
        if cls is not Money:
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
        if not self.is_exact_in_minor_units():
            raise InvalidRequest(
                f"{self} has more than {self.minor_units} decimal places for {self.currency}; "
                "round it explicitly before converting to minor units"
            )
        return int(_shift(self.amount, self.minor_units))

    def is_exact_in_minor_units(self) -> bool:
        """Whether `to_minor()` would succeed without rounding."""
        scaled = _shift(self.amount, self.minor_units)
        return scaled == scaled.to_integral_value()

    def quantize(self, rounding: str = decimal.ROUND_HALF_UP) -> Money:
        """Round to the currency's minor unit with an explicit rounding mode.

        Exact at any size (`Money("1e30", "SAR").quantize()` keeps all 31 digits); the
        only rounding is the one asked for, in the last place.
        """
        if rounding not in _ROUNDINGS:
            raise InvalidRequest(f"unknown rounding mode {rounding!r}: use one of decimal's "
                                 "ROUND_* constants")
        exp = Decimal((0, (1,), -self.minor_units))
        context = _EXACT.copy()
        context.traps[decimal.Inexact] = False  # rounding to the minor unit is the point
        try:
            value = self.amount.quantize(exp, rounding=rounding, context=context)
        except decimal.DecimalException as exc:
            raise InvalidRequest(f"cannot round {self} to {self.currency}'s minor unit: "
                                 f"{type(exc).__name__}") from exc
        return Money(value, self.currency)

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidRequest(
                f"cannot {op} {self.currency} and {other.currency}: convert one currency first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        b = self._same(other, "add").amount
        return Money(_exact("add", lambda: self.amount + b), self.currency)

    def __sub__(self, other: Money) -> Money:
        b = self._same(other, "subtract").amount
        return Money(_exact("subtract", lambda: self.amount - b), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        f = to_decimal(factor, what="factor")
        return Money(_exact("multiply", lambda: self.amount * f), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(self.amount.copy_negate(), self.currency)

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
