"""The locustfile: the harness's users, its load shape and its event listeners, exposed to Locust.

Locust runs the User classes and the LoadTestShape it finds in this module's namespace; what
they do lives elsewhere: the users in ``loadtests/users.py`` (every attempt written to the
ledger, ``loadtests/ledger.py``, so that the audit can prove, request by request, that nothing
was lost), the shape in ``loadtests/steps_shape.py``, the options, each process's set-up and
the SLO gate in ``loadtests/listeners.py``. Runs against the local stage (``--stage-file``,
written by the stage) or a deployed stack (``--host`` plus ``--users-file`` and
``--cognito-client-id``; the AWS region and credentials come from the usual variables).

    locust -f loadtests/locustfile.py --headless -u 100 -r 20 -t 60s \
        --host http://127.0.0.1:PORT/local --stage-file reports/<run>/stage.json
"""

from __future__ import annotations

import os

from loadtests.listeners import add_arguments, set_up, slo_gate
from loadtests.shapes import SHAPE_VARIABLE
from loadtests.users import BadInputSender, CustomerUser, DuplicateSubmitter, Intruder

__all__ = [
    "BadInputSender", "CustomerUser", "DuplicateSubmitter", "Intruder",  # found by Locust here
    "add_arguments", "set_up", "slo_gate",  # registered with Locust's events when imported
]  # fmt: skip

if os.environ.get(SHAPE_VARIABLE):
    # Only then: Locust plays any shape it finds here, in place of --users, --spawn-rate and --run-time.
    from loadtests.steps_shape import StepsShape

    __all__ += ["StepsShape"]


if __name__ == "__main__":
    from locust import run_single_user

    run_single_user(CustomerUser)
