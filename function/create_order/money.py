"""Money: ``Decimal`` amounts rounded half-even to the currency's minor unit (ISO 4217)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

_CURRENCY = re.compile(r"[A-Z]{3}")

# ISO 4217 currencies whose minor unit is not two decimal places.
_MINOR_UNIT_DIGITS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip
_QUANTUM = {digits: Decimal(1).scaleb(-digits) for digits in (0, 2, 3, 4)}


def is_currency_code(code: str) -> bool:
    """True for a well-formed ISO 4217 alphabetic code (three upper-case letters)."""
    return _CURRENCY.fullmatch(code) is not None


def round_to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    """Round half-even to the currency's minor unit, e.g. 2.345 USD -> 2.34, 2.355 USD -> 2.36."""
    return amount.quantize(_QUANTUM[_MINOR_UNIT_DIGITS.get(currency, 2)], rounding=ROUND_HALF_EVEN)


def line_total(unit_price: Decimal, quantity: int, currency: str) -> Decimal:
    """Price of one order line, rounded once, after multiplying."""
    return round_to_minor_unit(unit_price * quantity, currency)


def order_total(line_totals: list[Decimal], currency: str) -> Decimal:
    """Sum of already-rounded line totals, expressed in the currency's minor unit."""
    return round_to_minor_unit(sum(line_totals, Decimal(0)), currency)
