"""Money's promises, one by one, with hand-computed expectations.

Written against the mutants `python3 dev.py mutate money` found alive (docs/reliability.md,
"Mutation testing"): a sign that is not flipped, a comparison off by one, a message that
names the wrong thing. Every expected value here is a literal worked out by hand, never one
the code under test computed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicekit import Money, errors
from invoicekit.provider import normalize_currency, to_decimal


def test_negation_flips_the_sign_and_keeps_the_currency() -> None:
    # The migration builds discount lines as `-item.discount`: the sign is the promise.
    negated = -Money("12.50", "SAR")
    assert negated.amount == Decimal("-12.50")
    assert negated.currency == "SAR"
    assert -Money("-3", "KWD") == Money("3", "KWD")


def test_subtraction_subtracts_in_the_same_currency() -> None:
    difference = Money("10.00", "SAR") - Money("2.75", "SAR")
    assert difference.amount == Decimal("7.25")
    assert difference.currency == "SAR"


def test_addition_and_multiplication_keep_the_currency() -> None:
    assert (Money("1.10", "USD") + Money("2.20", "USD")).amount == Decimal("3.30")
    product = Money("2.50", "OMR") * 3
    assert product.amount == Decimal("7.50")
    assert product.currency == "OMR"
    assert (2 * Money("0.005", "KWD")).amount == Decimal("0.010")


@pytest.mark.parametrize(("left", "right", "lt", "le", "gt", "ge"), [
    ("1.00", "1.00", False, True, False, True),   # equal: only <= and >= hold
    ("0.99", "1.00", True, True, False, False),
    ("1.01", "1.00", False, False, True, True),
])
def test_comparisons_at_the_boundary(left: str, right: str, lt: bool, le: bool, gt: bool,
                                     ge: bool) -> None:
    a, b = Money(left, "SAR"), Money(right, "SAR")
    assert (a < b, a <= b, a > b, a >= b) == (lt, le, gt, ge)


@pytest.mark.parametrize("compare", [
    lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b,
])
def test_comparing_two_currencies_is_refused_by_name(compare: object) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        compare(Money("1", "USD"), Money("1", "SAR"))  # type: ignore[operator]
    assert str(info.value) == "cannot compare USD and SAR: convert one currency first"


@pytest.mark.parametrize(("operation", "message"), [
    (lambda m: m + 1, "cannot add Money and int"),
    (lambda m: m - Decimal(1), "cannot subtract Money and Decimal"),
    (lambda m: m < 1, "cannot compare Money and int"),
    (lambda m: m >= "1", "cannot compare Money and str"),
    (lambda m: m * m, "cannot multiply Money by Money"),
    (lambda m: round(m), "round() is ambiguous for money; use Money.quantize(rounding=...)"),
])
def test_operations_with_the_wrong_type_say_what_was_given(operation: object,
                                                           message: str) -> None:
    with pytest.raises(TypeError) as info:
        operation(Money("1", "USD"))  # type: ignore[operator]
    assert str(info.value) == message


@pytest.mark.parametrize(("operation", "message"), [
    (lambda: Money("1", "USD") + Money("1", "SAR"),
     "cannot add USD and SAR: convert one currency first"),
    (lambda: Money("1", "USD") - Money("1", "SAR"),
     "cannot subtract USD and SAR: convert one currency first"),
])
def test_arithmetic_across_currencies_names_the_operation(operation: object,
                                                          message: str) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        operation()  # type: ignore[operator]
    assert str(info.value) == message


def test_a_float_factor_is_refused_as_a_factor() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        Money("1", "USD") * 1.5
    assert str(info.value) == ("factor must not be a float (1.5): floats cannot hold money "
                               "exactly; pass Decimal('1.5') or the string '1.5'")


def test_bool_is_whether_the_amount_is_non_zero() -> None:
    assert not Money("0.00", "SAR")
    assert Money("0.01", "SAR")
    assert Money("-0.01", "SAR")


def test_zero_is_zero_in_the_normalised_currency() -> None:
    zero = Money.zero("ر.س")
    assert zero.amount == Decimal(0)
    assert zero.currency == "SAR"
    assert repr(zero) == "Money('0', 'SAR')"


def test_repr_and_str_show_the_exact_amount() -> None:
    money = Money("90.50", "SAR")
    assert repr(money) == "Money('90.50', 'SAR')"
    assert str(money) == "90.50 SAR"


@pytest.mark.parametrize(("value", "message"), [
    (True, "Money amount must be a Decimal, int or numeric string, not a bool"),
    ("12abc", "Money amount '12abc' is not a number"),
    (b"1", "Money amount must be a Decimal, int or numeric string, got bytes"),
    (Decimal("NaN"), "Money amount must be a finite number, got Decimal('NaN')"),
    ("-Infinity", "Money amount must be a finite number, got '-Infinity'"),
    (0.1, "Money amount must not be a float (0.1): floats cannot hold money exactly; "
          "pass Decimal('0.1') or the string '0.1'"),
])
def test_a_bad_amount_is_refused_with_what_was_given(value: object, message: str) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        Money(value, "USD")  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("1.50"), Decimal("1.50")), (7, Decimal(7)), (" 2.5 ", Decimal("2.5")),
])
def test_to_decimal_converts_exactly(value: object, expected: Decimal) -> None:
    result = to_decimal(value)
    assert type(result) is Decimal
    assert result == expected
    assert str(result) == str(expected)  # the exponent is kept: 1.50 stays 1.50


def test_to_decimal_names_the_amount_by_default() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        to_decimal(False)
    assert str(info.value) == "amount must be a Decimal, int or numeric string, not a bool"


@pytest.mark.parametrize(("value", "message"), [
    (840, "currency must be a string ISO 4217 code, got int"),
    (["SAR"], "currency must be a string ISO 4217 code, got list"),
    ("RIYAL", "unknown currency 'RIYAL': expected an ISO 4217 code such as 'SAR'"),
])
def test_a_bad_currency_is_refused_with_what_was_given(value: object, message: str) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        normalize_currency(value)
    assert str(info.value) == message


def test_a_currency_given_as_a_str_subclass_comes_back_as_a_plain_code() -> None:
    class Code(str):
        pass

    code = normalize_currency(Code("SAR"))
    assert type(code) is str
    assert code == "SAR"


def test_from_minor_names_the_wrong_type() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        Money.from_minor("100", "SAR")  # type: ignore[arg-type]
    assert str(info.value) == "minor units must be an int, got str"


def test_to_minor_refuses_to_round_and_says_how() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        Money("1.005", "USD").to_minor()
    assert str(info.value) == ("1.005 USD has more than 2 decimal places for USD; "
                               "round it explicitly before converting to minor units")


RANGE = ("is out of range: money has at most 100 digits before the decimal point, and is "
         "zero or at least 1E-100")


@pytest.mark.parametrize("amount", ["1E-100", "-1E-100", "9" * 100, "1E+99"])
def test_the_edges_of_the_range_are_money(amount: str) -> None:
    assert Money(amount, "SAR").amount == Decimal(amount)
    assert Money(Decimal(amount), "SAR").amount == Decimal(amount)


@pytest.mark.parametrize(("amount", "shown"), [
    ("1E+100", "1E+100"), ("1" + "0" * 100, "1" + "0" * 39), ("1E-101", "1E-101"),
])
def test_past_the_edges_of_the_range_is_refused(amount: str, shown: str) -> None:
    for value in (amount, Decimal(amount)):
        with pytest.raises(errors.InvalidRequest) as info:
            Money(value, "SAR")
        assert str(info.value) == f"Money amount {shown} {RANGE}"


@pytest.mark.parametrize(("operation", "message"), [
    (lambda: Money("9E+99", "SAR") + Money("9E+99", "SAR"), f"the result of add 1.8E+100 {RANGE}"),
    (lambda: Money("-9E+99", "SAR") - Money("9E+99", "SAR"),
     f"the result of subtract -1.8E+100 {RANGE}"),
    (lambda: Money("1E+99", "SAR") * 10, f"the result of multiply 1.0E+100 {RANGE}"),
])
def test_a_result_out_of_range_names_the_operation(operation: object, message: str) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        operation()  # type: ignore[operator]
    assert str(info.value) == message


def test_from_minor_refuses_too_many_minor_units_by_their_size() -> None:
    # 2**416 has 417 bits: past 4 * (100 + 4) = 416 bits it is refused before any work.
    with pytest.raises(errors.InvalidRequest) as info:
        Money.from_minor(2**416, "SAR")
    assert str(info.value) == "417-bit minor units are out of range for money (100 digits at most)"


@pytest.mark.parametrize("minor", [2**415, 10**102])
def test_from_minor_checks_the_range_of_a_large_amount(minor: int) -> None:
    # 2**415 (416 bits) and 10**102 (339 bits) are checked as amounts: both are 10**100 or
    # more once divided by 100 (2**415 is about 8.4E+124).
    with pytest.raises(errors.InvalidRequest) as info:
        Money.from_minor(minor, "SAR")
    assert str(info.value).startswith("Money amount ")
    assert str(info.value).endswith(RANGE)


def test_an_unknown_rounding_mode_is_refused_by_name() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        Money("1.005", "USD").quantize("UP")
    assert str(info.value) == "unknown rounding mode 'UP': use one of decimal's ROUND_* constants"
