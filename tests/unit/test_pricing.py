"""The price table and the units AWS bills (``runreport/pricing.py``), against hand-worked cases.

Each case is worked out by hand in its comment from the service's own rule; the table's
reading refuses what it cannot price with; and the shipped table covers every resource the
template declares, each priced or listed as not counted with a reason.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from harness import billing
from harness.template import load_template
from runreport import pricing

SHIPPED = tomllib.loads(pricing.PRICES.read_text())


def _table(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(SHIPPED)
    document.update(changes)
    return document


def test_lambda_gb_seconds_are_the_billed_ms_times_the_memory_in_gb() -> None:
    # 101 ms at 256 MB: 0.101 s x 0.25 GB = 0.02525 GB-s; 1 ms at 1769 MB: 0.001 x 1769/1024
    assert billing.gb_seconds(101, 256) == pytest.approx(0.02525)
    assert billing.gb_seconds(1, 1769) == pytest.approx(0.001727539, rel=1e-6)
    # an INIT billed with the first invocation is in its billed ms: 250 + 12 ms at 128 MB
    assert billing.gb_seconds(262, 128) == pytest.approx(0.03275)


@pytest.mark.parametrize(
    ("item_bytes", "units"),
    [(0, 1), (1, 1), (1024, 1), (1025, 2), (2048, 2), (2049, 3), (400 * 1024, 400)],
)
def test_a_write_costs_one_unit_per_kb_begun_and_at_least_one(item_bytes: int, units: int) -> None:
    assert billing.write_units(item_bytes) == units


@pytest.mark.parametrize(
    ("sizes", "consistent", "units"),
    [
        ([100], False, 0.5),  # one item under 4 KB, eventually consistent: half a unit
        ([100], True, 1),
        ([4096], False, 0.5),
        ([4097], False, 1.0),  # two 4 KB blocks, halved
        ([100, 100, 100], False, 1.5),  # each item rounded on its own: 3 blocks, not 1
        ([5000, 100], True, 3),  # 2 blocks + 1 block
        ([0], False, 0.5),  # a key that found nothing still reads
        ([], False, 0.5),
    ],
)
def test_reads_round_each_item_up_to_4_kb_and_halve_when_eventually_consistent(
    sizes: list[int], consistent: bool, units: float
) -> None:
    assert billing.read_units(sizes, consistent=consistent) == units


@pytest.mark.parametrize(
    ("payload", "chunk", "requests"),
    [
        (0, billing.SQS_CHUNK_BYTES, 1),
        (65_536, billing.SQS_CHUNK_BYTES, 1),
        (65_537, billing.SQS_CHUNK_BYTES, 2),
        (256 * 1024, billing.SQS_CHUNK_BYTES, 4),  # SQS's largest message: four requests
        (512 * 1024, billing.HTTP_API_CHUNK_BYTES, 1),
        (512 * 1024 + 1, billing.HTTP_API_CHUNK_BYTES, 2),
    ],
)
def test_a_payload_is_billed_one_request_per_chunk_begun(payload: int, chunk: int, requests: int) -> None:
    assert billing.chunks(payload, chunk) == requests


def test_log_bytes_are_priced_in_gb_of_2_to_the_30() -> None:
    assert billing.log_gb(3 * 1024**3) == 3.0
    assert billing.log_gb(1_000_000_000) == pytest.approx(0.931323, rel=1e-6)


def test_a_price_per_million_costs_its_share_per_unit() -> None:
    table = pricing.parse(SHIPPED)
    # 1 000 orders' Lambda requests at $0.20 a million: $0.0002
    assert table["lambda.requests"].cost(1_000) == pytest.approx(0.0002)
    # 3 write units and 1.5 read units at $0.625 and $0.125 a million
    assert table["dynamodb.write_request_units"].cost(3) == pytest.approx(1.875e-6)
    assert table["dynamodb.read_request_units"].cost(1.5) == pytest.approx(1.875e-7)
    # 0.02525 GB-s at arm64's first band, $0.0000133334 a GB-s
    assert table["lambda.duration.arm64"].cost(0.02525) == pytest.approx(3.36668e-7, rel=1e-5)


@pytest.mark.parametrize(
    ("volume", "usd"),
    [
        (0, 0.0000133334),
        (7_499_999_999, 0.0000133334),
        (7_500_000_000, 0.0000120001),  # a band's end belongs to the next band
        (18_750_000_000, 0.0000106667),
        (10**12, 0.0000106667),
    ],
)
def test_a_tiered_price_is_the_band_the_months_volume_reaches(volume: float, usd: float) -> None:
    table = pricing.parse(SHIPPED)
    assert table["lambda.duration.arm64"].unit_usd(volume) == pytest.approx(usd)


def test_the_rest_apis_bands_fall_at_333_million_1_billion_and_20_billion() -> None:
    rest = pricing.parse(SHIPPED)["apigateway.rest.requests"]
    per_million = [rest.unit_usd(v) * 1e6 for v in (0, 333_000_000, 1_000_000_000, 20_000_000_000)]
    assert per_million == pytest.approx([3.50, 2.80, 2.38, 1.51])


def test_every_price_names_its_source_and_when_it_was_read() -> None:
    table = pricing.load()
    assert table.region == "us-east-1"
    assert table.currency == "USD"
    assert table.read == "2026-12-07"
    for price in table.prices.values():
        assert price.source.startswith("https://aws.amazon.com/"), price.key
        assert price.via, price.key
        assert all(tier.usd > 0 for tier in price.tiers), price.key


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"x": {"per": 1, "usd": 1, "source": "s", "read": "d"}}, "x: no unit"),
        ({"x": {"unit": "u", "per": 1, "usd": 1, "read": "d"}}, "x: no source"),
        ({"x": {"unit": "u", "per": 1, "source": "s", "read": "d"}}, "x: no usd"),
        (
            {"x": {"unit": "u", "per": 1, "source": "s", "read": "d", "tiers": [{"usd": 2}, {"usd": 1}]}},
            "every band but the last ends",
        ),
        (
            {"x": {"unit": "u", "per": 1, "source": "s", "read": "d", "tiers": [{"up_to": 5, "usd": 2}]}},
            "every band but the last ends",
        ),
        (
            {
                "x": {
                    "unit": "u",
                    "per": 1,
                    "source": "s",
                    "read": "d",
                    "tiers": [{"up_to": 9, "usd": 3}, {"up_to": 5, "usd": 2}, {"usd": 1}],
                }
            },
            "the bands' ends must rise",
        ),
    ],
)
def test_a_table_that_cannot_be_priced_with_is_refused(prices: dict[str, Any], message: str) -> None:
    with pytest.raises(pricing.PriceError, match=message):
        pricing.parse(_table(prices=prices, counted={}))


def test_a_resource_counted_by_a_price_the_table_lacks_is_refused() -> None:
    with pytest.raises(pricing.PriceError, match=r"AWS::SQS::Queue is counted by prices the table lacks: \['sqs.x'\]"):
        pricing.parse(_table(counted={"AWS::SQS::Queue": ["sqs.standard.requests", "sqs.x"]}))
    with pytest.raises(pricing.PriceError, match=r"no price 'sqs\.x'; the table has"):
        pricing.load()["sqs.x"]


def test_every_resource_the_template_declares_is_priced_or_said_not_to_be() -> None:
    table = pricing.load()
    declared = {resource["Type"] for resource in load_template()["Resources"].values()}
    accounted = set(table.counted) | set(table.not_counted)
    assert declared - accounted == set(), "resources neither priced nor listed as not counted"
    assert accounted - declared == set(), "the table accounts for resources the template does not declare"
    assert not set(table.counted) & set(table.not_counted)
    assert all(reason.strip() for reason in table.not_counted.values())


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "héllo"}, 6),  # UTF-8 bytes, not characters
        ({"N": "59.97"}, 3),  # 4 significant digits: 2 bytes, + 1
        ({"N": "100"}, 2),  # trailing zeros are not significant
        ({"N": "-0.00120"}, 2),  # nor leading ones, nor the sign
        ({"N": "12345"}, 4),  # 5 digits: 3 bytes begun, + 1
        ({"B": "AAEC"}, 3),  # base64 as sent: 3 bytes
        ({"BOOL": False}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["ab", "c"]}, 3),
        ({"NS": ["1", "22"]}, 4),
        ({"L": []}, 3),
        ({"L": [{"S": "xy"}, {"NULL": True}]}, 3 + 3 + 2),  # each element + 1
        ({"M": {"a": {"BOOL": True}}}, 3 + 1 + 1 + 1),  # name, value, + 1
    ],
)
def test_a_value_is_sized_as_dynamodb_counts_it(value: dict[str, Any], size: int) -> None:
    assert billing.value_bytes(value) == size


def test_an_item_is_sized_by_its_names_and_values_and_an_unknown_type_is_refused() -> None:
    assert billing.item_bytes({"id": {"S": "order-1"}, "total": {"N": "59.97"}}) == 2 + 7 + 5 + 3
    with pytest.raises(ValueError, match="not a DynamoDB attribute value: 'X'"):
        billing.item_bytes({"id": {"X": "?"}})
