"""The local AWS: moto in server mode, one real HTTP process per service group on 127.0.0.1.

One process per group so that one GIL does not serve DynamoDB, SQS and Cognito at once; the
function and the harness reach each through ``AWS_ENDPOINT_URL_<SERVICE>``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.processes import wait_or_kill
from harness.runfolder import LogsFolder

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
# Service groups, each served by its own moto process; the key names the process.
SERVICE_GROUPS: dict[str, tuple[str, ...]] = {
    "dynamodb": ("dynamodb",),
    "sqs": ("sqs",),
    "control": ("cognito-idp", "cloudwatch", "logs", "cloudformation"),
}
_ENV_SUFFIX = {"dynamodb": "DYNAMODB", "sqs": "SQS", "cognito-idp": "COGNITO_IDENTITY_PROVIDER",
               "cloudwatch": "CLOUDWATCH", "logs": "CLOUDWATCH_LOGS", "cloudformation": "CLOUDFORMATION"}  # fmt: skip
_READY_TIMEOUT_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def aws_client_env() -> dict[str, str]:
    """Credentials and region for talking to moto; never a real account."""
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass
class MotoBackend:
    """moto server processes; :meth:`env` points any SDK at them."""

    log_dir: Path
    host: str = "127.0.0.1"
    """The address the servers listen on (another host's workers log in through Cognito here)."""
    endpoints: dict[str, str] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[Any] = field(default_factory=list)
    _by_service: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> MotoBackend:
        """Start every group's process and wait until each answers."""
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, **aws_client_env(), "MOTO_ALLOW_NONEXISTENT_REGION": "false", "PYTHONPATH": root}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for group, services in SERVICE_GROUPS.items():
                port = free_port(self.host)
                log = LogsFolder(self.log_dir).moto_log(group).open("ab")
                self._logs.append(log)
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    [
                        sys.executable,
                        "-m",
                        "localstage.moto_process",
                        "-H",
                        self.host,
                        "-p",
                        str(port),
                        "--request-log",
                        str(LogsFolder(self.log_dir).request_log(group)),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
                self._processes.append(process)
                url = f"http://{self.host}:{port}"
                for service in services:
                    self.endpoints[service] = url
                    self._by_service[service] = process
            for url in set(self.endpoints.values()):
                _wait_until_ready(url)
        except BaseException:
            self.stop()
            raise
        return self

    def env(self) -> dict[str, str]:
        """Environment variables that route the AWS SDK to this backend."""
        routed = {f"AWS_ENDPOINT_URL_{_ENV_SUFFIX[s]}": url for s, url in self.endpoints.items()}
        return {**aws_client_env(), **routed}

    @property
    def pids(self) -> list[int]:
        """The moto processes' ids (chaos pauses them)."""
        return [process.pid for process in self._processes]

    def pause(self, service: str) -> None:
        """Freeze the process serving ``service`` (SIGSTOP): it accepts connections, answers nothing.

        Stands for a backend that stops responding (a stalled endpoint, a network partition
        after the handshake); requests sent meanwhile are served when it resumes.
        """
        os.kill(self._by_service[service].pid, signal.SIGSTOP)

    def resume(self, service: str) -> None:
        """Let a paused process run again (SIGCONT)."""
        os.kill(self._by_service[service].pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the processes this backend started, and only those."""
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a paused process cannot handle SIGTERM
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            wait_or_kill(process, 10)
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


def _wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto server at {url} did not answer in {_READY_TIMEOUT_S:.0f} s") from None
            time.sleep(0.1)
