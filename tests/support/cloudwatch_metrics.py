"""What AWS publishes to CloudWatch for the services behind ``POST /orders``, and how a statistic is spelled.

A dashboard line or an alarm that names a metric AWS never publishes, or a dimension set it never
publishes the metric with, is accepted by CloudWatch and then draws nothing, silently. This catalog
lets a test catch that before a deploy. It is transcribed from the AWS documentation pages named
above each namespace; where a page lists a metric's dimensions as a flat list, the sets below are
the combinations that page describes (for example, ``GlobalSecondaryIndexName`` only ever with
``TableName``).
"""

from __future__ import annotations

import re


def _dims(*names: str) -> frozenset[str]:
    return frozenset(names)


_NONE = _dims()

# ---- AWS/ApiGateway ----------------------------------------------------------------------------
# Source: "Amazon API Gateway dimensions and metrics" (API Gateway Developer Guide), REST APIs only.
_API = (_dims("ApiName"), _dims("ApiName", "Stage"), _dims("ApiName", "Method", "Resource", "Stage"))
_API_GATEWAY = dict.fromkeys(
    ("4XXError", "5XXError", "CacheHitCount", "CacheMissCount", "Count", "IntegrationLatency", "Latency"), _API
)

# ---- AWS/Lambda --------------------------------------------------------------------------------
# Source: "Types of metrics for Lambda functions", "Viewing metrics for Lambda functions" and
# "Monitoring concurrency" (Lambda Developer Guide). The viewing page's groupings: across all
# functions (no dimension), by function, by version or alias (Resource), by alias and the version it
# ran (ExecutedVersion), by event source mapping.
_FUNCTION = (
    _NONE,
    _dims("FunctionName"),
    _dims("FunctionName", "Resource"),
    _dims("FunctionName", "Resource", "ExecutedVersion"),
)
_VERSION_OR_ALIAS = (_dims("FunctionName", "Resource"),)
"""Provisioned concurrency is configured on a version or an alias, and reported for it."""
_REGION = (_NONE,)
_EVENT_SOURCE_MAPPING = (_dims("EventSourceMappingUUID"),)
_LAMBDA: dict[str, tuple[frozenset[str], ...]] = {
    # Invocation metrics (the four throttle-reason metrics come with Lambda Managed Instances).
    **dict.fromkeys(
        (
            "Invocations",
            "Errors",
            "DeadLetterErrors",
            "DestinationDeliveryFailures",
            "Throttles",
            "CPUThrottles",
            "MemoryThrottles",
            "DiskThrottles",
            "ConcurrencyThrottles",
            "OversizedRecordCount",
            "ProvisionedConcurrencyInvocations",
            "ProvisionedConcurrencySpilloverInvocations",
            "RecursiveInvocationsDropped",
        ),
        _FUNCTION,
    ),
    # Deployment metrics: a deployment concerns a function, never a version's invocations.
    "SignatureValidationErrors": (_NONE, _dims("FunctionName")),
    # Performance metrics.
    **dict.fromkeys(("Duration", "PostRuntimeExtensionsDuration", "IteratorAge", "OffsetLag"), _FUNCTION),
    # Concurrency metrics: "for a Region" where the page says so.
    "ConcurrentExecutions": _FUNCTION,
    "ProvisionedConcurrentExecutions": _VERSION_OR_ALIAS,
    "ProvisionedConcurrencyUtilization": _VERSION_OR_ALIAS,
    "UnreservedConcurrentExecutions": _REGION,
    "ClaimedAccountConcurrency": _REGION,
    # Asynchronous invocation metrics.
    **dict.fromkeys(("AsyncEventsReceived", "AsyncEventAge", "AsyncEventsDropped"), _FUNCTION),
    # Event source mapping metrics (opt-in metric groups, and provisioned-mode pollers).
    **dict.fromkeys(
        (
            "PolledEventCount",
            "FilteredOutEventCount",
            "InvokedEventCount",
            "FailedInvokeEventCount",
            "DroppedEventCount",
            "OnFailureDestinationDeliveredEventCount",
            "DeletedEventCount",
            "CommittedEventCount",
            "PollingErrorCount",
            "InvokeErrorCount",
            "OnFailureDestinationDeliveryErrorCount",
            "SchemaRegistryErrorCount",
            "CommitErrorCount",
            "MaxOffsetLag",
            "SumOffsetLag",
            "ProvisionedPollers",
            "EventPollerUnit",
            "EventPollerThroughputInBytes",
        ),
        _EVENT_SOURCE_MAPPING,
    ),
}

# ---- AWS/DynamoDB ------------------------------------------------------------------------------
# Source: "DynamoDB Metrics and dimensions" (DynamoDB Developer Guide). Its "Usage metrics"
# (AccountProvisionedRead/WriteCapacityUnits, TableCount) are left out: Service Quotas publishes them
# in AWS/Usage, not AWS/DynamoDB. OperationType and Verb refine Operation for the PartiQL and
# ExecuteTransaction calls, so they are allowed wherever Operation is.
_ACCOUNT = (_NONE,)
_TABLE = (_dims("TableName"),)
_TABLE_OR_INDEX = (_dims("TableName"), _dims("TableName", "GlobalSecondaryIndexName"))
_INDEX = (_dims("TableName", "GlobalSecondaryIndexName"),)
_OPERATION = (
    _dims("TableName", "Operation"),
    _dims("TableName", "Operation", "OperationType"),
    _dims("TableName", "Operation", "Verb"),
)
_STREAM = (_dims("TableName", "Operation", "StreamLabel"),)
_KINESIS_REPLICATION = (_dims("TableName", "DelegatedOperation"),)
_REPLICA = (_dims("TableName", "ReceivingRegion"),)
_DYNAMODB: dict[str, tuple[frozenset[str], ...]] = {
    **dict.fromkeys(
        (
            "AccountMaxReads",
            "AccountMaxTableLevelReads",
            "AccountMaxTableLevelWrites",
            "AccountMaxWrites",
            "AccountProvisionedReadCapacityUtilization",
            "AccountProvisionedWriteCapacityUtilization",
            "MaxProvisionedTableReadCapacityUtilization",
            "MaxProvisionedTableWriteCapacityUtilization",
            "UserErrors",
        ),
        _ACCOUNT,
    ),
    **dict.fromkeys(
        (
            "AgeOfOldestUnreplicatedRecord",
            "ConsumedChangeDataCaptureUnits",
            "FailedToReplicateRecordCount",
            "ThrottledPutRecordCount",
        ),
        _KINESIS_REPLICATION,
    ),
    **dict.fromkeys(
        (
            "ConditionalCheckFailedRequests",
            "TimeToLiveDeletedItemCount",
            "TransactionConflict",
            "WriteAccountLimitThrottleEvents",
        ),
        _TABLE,
    ),
    **dict.fromkeys(
        (
            "ConsumedReadCapacityUnits",
            "OnDemandMaxReadRequestUnits",
            "OnDemandMaxWriteRequestUnits",
            "ProvisionedReadCapacityUnits",
            "ProvisionedWriteCapacityUnits",
            "ReadAccountLimitThrottleEvents",
            "ReadKeyRangeThroughputThrottleEvents",
            "ReadMaxOnDemandThroughputThrottleEvents",
            "ReadProvisionedThroughputThrottleEvents",
            "ReadThrottleEvents",
            "WriteKeyRangeThroughputThrottleEvents",
            "WriteMaxOnDemandThroughputThrottleEvents",
            "WriteProvisionedThroughputThrottleEvents",
            "WriteThrottleEvents",
        ),
        _TABLE_OR_INDEX,
    ),
    # Source tells a global table's replicated writes (GlobalTable) from the region's own (Customer).
    "ConsumedWriteCapacityUnits": (
        *_TABLE_OR_INDEX,
        _dims("TableName", "Source"),
        _dims("TableName", "GlobalSecondaryIndexName", "Source"),
    ),
    **dict.fromkeys(
        ("OnlineIndexConsumedWriteCapacity", "OnlineIndexPercentageProgress", "OnlineIndexThrottleEvents"), _INDEX
    ),
    **dict.fromkeys(("PendingReplicationCount", "ReplicationLatency"), _REPLICA),
    **dict.fromkeys(("ReturnedBytes", "ReturnedRecordsCount"), _STREAM),
    **dict.fromkeys(("ReturnedItemCount", "SystemErrors", "ThrottledRequests"), _OPERATION),
    # Streams' GetRecords latency carries the stream's label as well.
    "SuccessfulRequestLatency": (*_OPERATION, *_STREAM),
    "FaultInjectionServiceInducedErrors": (_dims("TableName", "Operation"),),
}

# ---- AWS/SQS -----------------------------------------------------------------------------------
# Source: "Available CloudWatch metrics for Amazon SQS" (SQS Developer Guide): one dimension,
# QueueName, for every metric (FIFO-only and fair-queue metrics included).
_SQS = dict.fromkeys(
    (
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfGroupsWithInflightMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesVisible",
        "NumberOfEmptyReceives",
        "NumberOfDeduplicatedSentMessages",
        "NumberOfMessagesDeleted",
        "NumberOfMessagesReceived",
        "NumberOfMessagesSent",
        "SentMessageSize",
        "ApproximateNumberOfNoisyGroups",
        "ApproximateNumberOfMessagesVisibleInQuietGroups",
        "ApproximateNumberOfMessagesNotVisibleInQuietGroups",
        "ApproximateNumberOfMessagesDelayedInQuietGroups",
        "ApproximateAgeOfOldestMessageInQuietGroups",
    ),
    (_dims("QueueName"),),
)

AWS_METRICS: dict[str, dict[str, tuple[frozenset[str], ...]]] = {
    "AWS/ApiGateway": _API_GATEWAY,
    "AWS/Lambda": _LAMBDA,
    "AWS/DynamoDB": _DYNAMODB,
    "AWS/SQS": _SQS,
}
"""Namespace -> metric name -> every dimension-name set AWS publishes that metric with."""


def _spell(dimensions: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(dimensions)) + "}" if dimensions else "no dimension"


def problems_with_metric(namespace: str, name: str, dimensions: frozenset[str]) -> str | None:
    """Why AWS would never publish this metric with these dimensions, or None when it does.

    Args:
        namespace: The CloudWatch namespace, e.g. ``AWS/Lambda``.
        name: The metric name, e.g. ``Duration``.
        dimensions: The dimension names the dashboard or alarm asks for (their values do not matter).

    Returns:
        One sentence naming what is wrong (unknown namespace, metric not published there, dimension
        set not published for it), or None when the catalog says AWS publishes exactly this.
    """
    metrics = AWS_METRICS.get(namespace)
    if metrics is None:
        return f"namespace {namespace!r} is not in the catalog of AWS metrics (known: {', '.join(AWS_METRICS)})"
    allowed = metrics.get(name)
    if allowed is None:
        return f"{namespace} publishes no metric named {name!r}"
    if dimensions in allowed:
        return None
    options = "; ".join(_spell(d) for d in allowed)
    return f"{namespace} {name} is not published with dimensions {_spell(dimensions)}: AWS publishes it with {options}"


# ---- Statistics ----------------------------------------------------------------------------------
# Source: "CloudWatch statistics definitions" (CloudWatch User Guide), its "Syntax" section.

STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum", "IQM"})
"""The statistics spelled as a plain word; the rest take a number (``p99``, ``tm90``, ``TM(10%:90%)``)."""

_NUMBER = r"\d+(?:\.\d{1,10})?"
"""Boundaries go to ten decimal places."""
_PERCENTILE = re.compile(rf"p({_NUMBER})")
_SHORT = re.compile(rf"(?:tm|wm|tc|ts)({_NUMBER})")
"""One number, no parentheses: a percentile boundary, lowercase only."""
_RANGE = re.compile(rf"(?:TM|WM|TC|TS)\((?:({_NUMBER})(%?))?:(?:({_NUMBER})(%?))?\)")
"""Parentheses: one or two boundaries, uppercase only, percentages or absolute values."""
_RANK = re.compile(rf"PR\((?:({_NUMBER}))?:(?:({_NUMBER}))?\)")
"""Percentile rank takes thresholds in the metric's own unit, never percentages."""


def _is_percent(value: str) -> bool:
    return 0 < float(value) <= 100


def _range_is_valid(low: str | None, low_pct: str, high: str | None, high_pct: str) -> bool:
    if low is None and high is None:
        return False
    if low is not None and high is not None:
        if low_pct != high_pct or float(low) >= float(high):
            return False
        return not low_pct or float(high) <= 100
    value, percent = (low, low_pct) if low is not None else (high, high_pct)
    return not percent or 0 <= float(value or 0) <= 100


def is_valid_stat(stat: str) -> bool:
    """Whether CloudWatch accepts ``stat`` as a statistic.

    Accepts the plain statistics, percentiles ``pNN`` / ``pNN.NN`` (0 < NN <= 100), the one-number
    forms ``tmNN``, ``wmNN``, ``tcNN``, ``tsNN``, the range forms ``TM(a:b)``, ``WM``, ``TC``, ``TS``
    (percentages or absolute values, either bound optional) and percentile rank ``PR(a:b)``.

    Args:
        stat: The statistic as a dashboard or alarm spells it.

    Returns:
        True when the statistics definitions page allows that spelling.
    """
    if stat in STATISTICS:
        return True
    if match := _PERCENTILE.fullmatch(stat) or _SHORT.fullmatch(stat):
        return _is_percent(match.group(1))
    if match := _RANGE.fullmatch(stat):
        low, low_pct, high, high_pct = match.groups()
        return _range_is_valid(low, low_pct or "", high, high_pct or "")
    if match := _RANK.fullmatch(stat):
        return _range_is_valid(match.group(1), "", match.group(2), "")
    return False
