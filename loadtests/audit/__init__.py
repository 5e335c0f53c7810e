"""The per-request audit of a run (docs/contract.md §3), its judgement kept apart from its evidence.

``judge`` is the judgement, a pure function of the ledger, the table and the messages;
``report`` what it found (``AuditReport``, audit.json and the printed table); ``evidence`` reads
the table, the queues and the stage consumer's record (the only boto3 here); ``folder`` audits a
run folder with them and writes audit.json; ``cli`` is ``python -m loadtests.audit``.
"""
