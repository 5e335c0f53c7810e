"""X-Ray tracing without the X-Ray SDK: subsegment documents written straight to the daemon.

What Powertools' ``Tracer(patch_modules=("botocore",))`` recorded, at a fraction of its cost
(it imported the X-Ray SDK, wrapt and asyncio at cold start, and spent more CPU per traced
invocation; BENCHMARKS.md, T6):

- one ``## lambda_handler`` subsegment per invocation, child of the function segment Lambda
  writes (``Parent`` of the invocation's trace header), annotated ``ColdStart`` and ``Service``;
- one ``aws`` subsegment per SDK call made during the invocation (its child), with the
  operation, region, request id, retries, table or queue, HTTP status and error flags;
- the outgoing ``X-Amzn-Trace-Id`` header of each call names its subsegment as the parent, so
  SQS carries the trace (``AWSTraceHeader``) to the consumer, as the X-Ray SDK's patch did.

When the handler ends, its subsegment is sent with its calls' inside (``subsegments``), as the
X-Ray SDK sends a finished subsegment tree: one UDP datagram (header line + JSON document) per
invocation to the daemon at ``AWS_XRAY_DAEMON_ADDRESS`` (a tree too big for one, or a call that
ends after its handler, goes out as documents of their own). Tracing is decided once per
environment (Powertools' rules: ``POWERTOOLS_TRACE_DISABLED``, off outside Lambda) and then per
invocation by the ``Sampled`` flag of ``_X_AMZN_TRACE_ID``, which the runtime sets for each
invocation. An unsampled invocation writes nothing; no failure to trace ever reaches the handler.

One module per role, imported one way (each only from those after it):

- ``writer.py``: :class:`~create_order.xray.writer.XRayWriter`, what the handler uses: whether
  each invocation is traced, the handler's subsegment, the clients it instruments;
- ``hooks.py``: the botocore event hooks that open, tag and close each SDK call's subsegment;
- ``emitter.py``: the UDP datagrams to the daemon, and the datagram's size limit;
- ``causes.py``: the fault, error and throttle flags and the exception causes of a subsegment;
- ``segments.py``: the ids, the trace of the invocation in progress, an SDK call's open subsegment;
- ``config.py``: the environment: whether tracing is on, and where the daemon is.

Nothing here is imported by this package's ``__init__``: the handler imports the writer.
"""
