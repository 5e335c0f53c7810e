"""What a run's consumption costs: the price table (``runreport/prices.toml``) and the units AWS bills.

The table is data: each price names its unit, how many units it is for, its tiers by monthly
volume, the AWS page that states it and when and how it was read. Here it is read
(:func:`load`) and applied (:meth:`Price.cost`); the units a request is billed in are worked
out where the run records them (``harness.billing``).

Standard library only.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices.toml")
"""The price table."""


class PriceError(ValueError):
    """A price table that cannot be priced with: a missing field, a tier out of order."""


@dataclass(frozen=True)
class Tier:
    """A price band of a month's volume: ``usd`` per ``per`` units for the units up to ``up_to``."""

    usd: float
    up_to: float | None = None
    """The month's volume (in units) where the band ends; None for the last band."""


@dataclass(frozen=True)
class Price:
    """One price of the table: what it is for, its tiers, where it was read."""

    key: str
    unit: str
    per: float
    tiers: tuple[Tier, ...]
    source: str
    read: str
    via: str = ""
    note: str = ""

    def unit_usd(self, monthly_volume: float = 0.0) -> float:
        """USD for one unit at the margin of a month's ``monthly_volume`` units (the band that volume reaches)."""
        for tier in self.tiers:
            if tier.up_to is None or monthly_volume < tier.up_to:
                return tier.usd / self.per
        raise PriceError(f"{self.key}: no band for a month of {monthly_volume} {self.unit}s")  # pragma: no cover

    def cost(self, units: float, monthly_volume: float = 0.0) -> float:
        """USD for ``units`` units at the band a month of ``monthly_volume`` units reaches (the first by default)."""
        return units * self.unit_usd(monthly_volume)


@dataclass(frozen=True)
class PriceTable:
    """Every price, by key, with the region and currency they are for, and what the template's resources cost."""

    region: str
    currency: str
    prices: dict[str, Price]
    counted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A resource type of the template → the prices that charge for what it does per order."""
    not_counted: dict[str, str] = field(default_factory=dict)
    """A resource type of the template → why nothing of it is charged per order."""

    def __getitem__(self, key: str) -> Price:
        """The price ``key`` (a ``PriceError`` naming the keys there are if it is missing)."""
        try:
            return self.prices[key]
        except KeyError:
            raise PriceError(f"no price {key!r}; the table has {sorted(self.prices)}") from None

    @property
    def read(self) -> str:
        """The earliest date any of its prices was read (how old the table is)."""
        return min(price.read for price in self.prices.values())


def _tiers(key: str, entry: dict[str, Any]) -> tuple[Tier, ...]:
    if "tiers" not in entry:
        return (Tier(float(entry["usd"])),)
    tiers = tuple(Tier(float(tier["usd"]), tier.get("up_to")) for tier in entry["tiers"])
    bounds = [tier.up_to for tier in tiers[:-1] if tier.up_to is not None]
    if len(bounds) != len(tiers) - 1 or tiers[-1].up_to is not None:
        raise PriceError(f"{key}: every band but the last ends (up_to), the last does not")
    if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise PriceError(f"{key}: the bands' ends must rise")
    return tiers


def _price(key: str, entry: dict[str, Any]) -> Price:
    try:
        return Price(
            key=key,
            unit=str(entry["unit"]),
            per=float(entry["per"]),
            tiers=_tiers(key, entry),
            source=str(entry["source"]),
            read=str(entry["read"]),
            via=str(entry.get("via", "")),
            note=str(entry.get("note", "")),
        )
    except KeyError as missing:
        raise PriceError(f"{key}: no {missing.args[0]}") from None


def parse(document: dict[str, Any]) -> PriceTable:
    """A price table from the TOML document ``document``.

    Raises:
        PriceError: a price without its unit, amount, source or read date; bands out of order;
            a counted resource naming a price the table lacks.
    """
    prices = {key: _price(key, entry) for key, entry in document.get("prices", {}).items()}
    counted = {kind: tuple(keys) for kind, keys in document.get("counted", {}).items()}
    for kind, keys in counted.items():
        unknown = [key for key in keys if key not in prices]
        if unknown:
            raise PriceError(f"{kind} is counted by prices the table lacks: {unknown}")
    return PriceTable(
        region=str(document["region"]),
        currency=str(document["currency"]),
        prices=prices,
        counted=counted,
        not_counted={kind: str(reason) for kind, reason in document.get("not_counted", {}).items()},
    )


def load(path: Path = PRICES) -> PriceTable:
    """The price table at ``path`` (``runreport/prices.toml`` by default)."""
    return parse(tomllib.loads(path.read_text()))
