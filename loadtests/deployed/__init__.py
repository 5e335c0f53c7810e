"""The deployed-stack runner: seed a stack's catalog, create a run's users, load, audit, clean up.

    python -m loadtests.deployed seed    --stack NAME [--catalog FILE] [--overwrite]
    python -m loadtests.deployed users   --stack NAME [--count 100] [--run-id ID]
    python -m loadtests.deployed run     --stack NAME --run-id ID [--users 100] [--run-time 5m] [...Locust]
    python -m loadtests.deployed audit   --stack NAME --run-id ID
    python -m loadtests.deployed cleanup --stack NAME --run-id ID [--orders]

Each reads the stack's outputs with the operator's AWS credentials; a run's files (users,
catalog, ledgers, Locust's reports, audit.json) live in ``reports/<stack>/<run id>/``. A run's
customers are named under ``SYNTHETIC_PREFIX`` so its orders are recognisable downstream.
"""
