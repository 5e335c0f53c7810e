"""What a run's consumption costs: the price table (``runreport/prices.toml``) and the units AWS bills.

The table is data: each price names its unit, how many units it is for, its tiers by monthly
volume, the AWS page that states it and when and how it was read. Here it is read
(:func:`load`) and applied (:meth:`Price.cost`), and the billed units are worked out from what a
request really did, as each service counts them:

- Lambda: billed milliseconds (rounded up to the ms; an on-demand INIT included) times memory, in
  GB-seconds (:func:`gb_seconds`);
- DynamoDB on demand: one write unit per 1 KB written, a refused conditional write billed as
  written (:func:`write_units`); half a read unit per 4 KB read eventually consistent, one
  strongly consistent, each item of a BatchGetItem rounded on its own (:func:`read_units`);
- SQS and HTTP APIs: one request per 64 KB (SQS) or 512 KB (HTTP API) chunk of a payload, at
  least one (:func:`chunks`);
- CloudWatch Logs: GB of 2^30 bytes ingested (:func:`log_gb`).

Standard library only.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices.toml")
"""The price table."""
KB = 1024
WRITE_UNIT_BYTES = 1 * KB
"""DynamoDB bills a write unit per this much of an item written."""
READ_UNIT_BYTES = 4 * KB
"""DynamoDB bills a read unit (strongly consistent) per this much of an item read."""
SQS_CHUNK_BYTES = 64 * KB
"""SQS bills each this much of a request's payload as one request."""
HTTP_API_CHUNK_BYTES = 512 * KB
"""An HTTP API meters requests in increments of this much."""
GB = 1024**3
"""The GB CloudWatch Logs ingestion is priced in."""
MB_PER_GB = 1024
"""Lambda's memory sizes are MB of which 1024 make the GB of a GB-second."""


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


def gb_seconds(billed_ms: int, memory_mb: int) -> float:
    """Lambda's GB-seconds for ``billed_ms`` billed milliseconds at ``memory_mb``."""
    return billed_ms / 1000 * memory_mb / MB_PER_GB


def write_units(item_bytes: int) -> int:
    """DynamoDB write units of one write of an item of ``item_bytes`` (1 KB each, at least one).

    A PutItem is billed for the larger of the item written and the item it replaces; a
    conditional write that was refused is billed as if it had written.
    """
    return max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))


def read_units(item_sizes: list[int], *, consistent: bool = False) -> float:
    """DynamoDB read units of reading items of ``item_sizes`` bytes, each rounded up to 4 KB on its own.

    As a BatchGetItem is billed: one unit per 4 KB strongly consistent, half eventually; a read
    that found nothing still costs the smallest read (one item of 0 bytes).
    """
    blocks = sum(math.ceil(size / READ_UNIT_BYTES) or 1 for size in item_sizes) or 1
    return blocks if consistent else blocks / 2


def chunks(payload_bytes: int, chunk_bytes: int = SQS_CHUNK_BYTES) -> int:
    """Requests billed for one request of ``payload_bytes``: one per ``chunk_bytes`` begun, at least one."""
    return max(1, math.ceil(payload_bytes / chunk_bytes))


def log_gb(log_bytes: int) -> float:
    """CloudWatch Logs GB for ``log_bytes`` ingested."""
    return log_bytes / GB
