"""The endpoint's service-level objectives: one definition for the alarms, the dashboard and Locust's gate."""

from __future__ import annotations

LATENCY_P95_MS = 500
"""Locust's gate: p95 of `create order` at or under this (closed loop, 100 users)."""
LATENCY_P99_MS = 1000
"""The API's p99 latency alarm fires above this, three minutes out of five."""
SERVER_ERROR_RATIO = 0.01
"""At most 1 % of requests may fail (5XX on the API; failures in Locust's gate)."""
QUEUE_AGE_S = 300
"""The oldest message waiting in the processing queue: alarm above five minutes."""
MIN_REQUESTS_FOR_NO_ORDERS = 20
"""The no-orders alarm fires only when at least this many invocations arrived in the period."""
MIN_INVOCATIONS_FOR_ERROR_RATE = 10
"""The error-rate alarm judges a minute only with at least this many invocations on the live alias: a
quieter minute is left out (no data point), so that one failure in two requests neither fires it nor
sets it back to OK. At 0.5 requests a second a minute holds 30."""
