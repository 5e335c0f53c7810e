"""The deployed-stack runner: seed a stack's catalog, create a run's users, load, audit, price, clean up.

    python -m loadtests.deployed seed    --stack NAME [--catalog FILE] [--overwrite]
    python -m loadtests.deployed users   --stack NAME [--count 100] [--run-id ID]
    python -m loadtests.deployed run     --stack NAME --run-id ID [--users 100] [--run-time 5m] [...Locust]
    python -m loadtests.deployed audit   --stack NAME --run-id ID
    python -m loadtests.deployed cost    --stack NAME --run-id ID
    python -m loadtests.deployed cleanup --stack NAME --run-id ID [--orders]

Each reads the stack's outputs with the operator's AWS credentials; a run's files (users,
catalog, ledgers, Locust's reports, audit.json, cost.json) live in ``reports/<stack>/<run id>/``.
``run`` ends with the run's cost (``loadtests.deployed.cost``: Lambda's REPORTs and the log groups'
bytes in the run's window, the rest from its ledgers and stored orders, and what it cannot see
named), which ``cost`` works out again later; a log group it cannot read never fails a run. A run's
customers are named under ``SYNTHETIC_PREFIX`` so its orders are recognisable downstream.
"""
