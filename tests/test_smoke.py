from decimal import Decimal

import invoicekit


def test_money_is_exact() -> None:
    assert invoicekit.Money("90.50", "ر.س") == invoicekit.Money(Decimal("90.5"), "SAR")
