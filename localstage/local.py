"""Start and stop the whole local stage: backend, resources, workers, gateway, consumer."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3

from chaos.proxy import FaultProxy
from harness.platform_log import TEXT
from harness.runfolder import RunFolder
from harness.template import FUNCTION, ROOT, load_template, physical_name, resource
from localstage.allotment import Allotment
from localstage.backend import REGION, MotoBackend
from localstage.cgroups import ControlGroups
from localstage.consumer import QueueConsumer
from localstage.function_config import interpreter_line
from localstage.gateway import Gateway, TokenVerifier, authorizer_ttl_s
from localstage.knobs import Knobs
from localstage.resources import StageResources, create_resources, seed
from localstage.throttle import TokenBucket
from localstage.workers import FunctionConfig, WorkerPool

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


def _log_group(template: dict[str, Any], given: Any, variables: Mapping[str, str]) -> str | None:
    """``LoggingConfig.LogGroup`` as deployed: a name, or the name of the template's log group it refers to."""
    if isinstance(given, dict) and set(given) == {"Ref"}:
        return physical_name(resource(template, given["Ref"])["Properties"]["LogGroupName"], variables)
    return given if isinstance(given, str) else None


def new_run_dir(kind: str = "stage") -> Path:
    """A fresh folder for one run's logs and results (two started in the same second get two)."""
    return RunFolder.new(kind).path


def id_token(info: Mapping[str, Any], user: Mapping[str, str], cognito: Any = None) -> str:
    """``user``'s Cognito ID token (USER_PASSWORD_AUTH), ``info`` being the stage's description."""
    cognito = cognito or boto3.client("cognito-idp")
    answer = cognito.initiate_auth(
        ClientId=info["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["username"], "PASSWORD": user["password"]},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


@dataclass
class LocalStage:
    """The embedded stage. Use as a context manager: everything it started stops on exit."""

    run_dir: Path
    concurrency: int = 100
    customers: int = 100
    port: int = 0
    host: str = "127.0.0.1"
    """Where the gateway and the local AWS listen (and what the stage file tells clients)."""
    chaos_plan: Path | None = None
    network_faults: bool = False
    """Route the function's DynamoDB and SQS traffic through fault proxies (``proxies``)."""
    parameters: dict[str, str] = field(default_factory=dict)
    """Template parameter values over the defaults (e.g. an environment's from samconfig.toml): the knobs."""
    throttle: bool = False
    """Apply the stage throttle (the parameters' rate and burst) in front of the function."""
    snapstart: bool = False
    """SnapStart on whatever ``parameters`` say (``--snapstart``): new environments restored from a snapshot."""
    allotment: Allotment = field(default_factory=Allotment)
    """Memory and CPU as Lambda allots them (``--memory-size``, ``--cpu-model``, ...); its memory size is the run's."""
    knobs: Knobs = field(default_factory=Knobs)
    groups: ControlGroups | None = None
    """The environments' control groups, by the allotment (no-ops where the host allows none)."""
    proxies: dict[str, FaultProxy] = field(default_factory=dict)
    backend: MotoBackend | None = None
    resources: StageResources | None = None
    pool: WorkerPool | None = None
    gateway: Gateway | None = None
    consumer: QueueConsumer | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def __enter__(self) -> LocalStage:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start(self) -> None:
        folder = RunFolder(self.run_dir)
        self.backend = MotoBackend(folder.logs_dir, host=self.host).start()
        self._use_env(self.backend.env())
        template = load_template()
        self.knobs = Knobs.from_template(template, self.parameters, snapstart=self.snapstart)
        if self.knobs.snapstart and self.chaos_plan:
            raise ValueError("SnapStart with a fault plan: not emulated (the plan's zero would be the snapshot's)")
        self.resources = create_resources(template, parameters=self.parameters)
        seed(self.resources, customers=self.customers)
        props = resource(template, FUNCTION)["Properties"]
        name = self.resources.variables[FUNCTION]  # the template's name, with the stage's own stage name
        self.groups = ControlGroups.open(self.allotment, int(props["MemorySize"]))
        memory_mb = self.groups.memory_mb
        backend_env = self.backend.env()
        if self.network_faults:
            for service, variable in (("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"), ("sqs", "AWS_ENDPOINT_URL_SQS")):
                target = urlsplit(self.backend.endpoints[service])
                proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 80).start()
                self.proxies[service] = proxy
                backend_env[variable] = proxy.url
        logging = props.get("LoggingConfig", {})
        function = FunctionConfig(
            code_dir=ROOT / "function",
            env={
                **backend_env,
                **self.resources.function_env,
                # No X-Ray daemon locally: tracing is the one part of the stack left off.
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            memory_mb=memory_mb,
            timeout_s=float(props["Timeout"]),
            name=name,
            handler=props["Handler"],
            runtime=props["Runtime"],
            architecture=(props.get("Architectures") or ["x86_64"])[0],  # Lambda's default where none is given
            log_format=logging.get("LogFormat", TEXT),
            log_level=logging.get("ApplicationLogLevel"),
            log_group=_log_group(template, logging.get("LogGroup"), self.resources.variables),
            chaos_plan=str(self.chaos_plan) if self.chaos_plan else None,
        )
        folder.logs_dir.mkdir(exist_ok=True)
        self.pool = WorkerPool(
            function,
            folder.logs_dir,
            concurrency=self.knobs.concurrency(self.concurrency),
            billing=folder.billing,
            groups=self.groups,
        )
        if self.knobs.snapstart:
            # SnapStart: the version published (its one init, snapshotted) before the gateway takes a request. A
            # publish that fails leaves the stage up, as Lambda leaves a Failed version: requests get the init's error.
            self.pool.publish()
        if self.knobs.provisioned:
            # Provisioned concurrency: every init done before the gateway takes its first request.
            ready = self.pool.provision(self.knobs.provisioned)
            if ready < min(self.knobs.provisioned, self.pool.concurrency):
                raise RuntimeError(f"provisioned concurrency: {ready} of {self.knobs.provisioned} environments started")
        control = self.backend.endpoints["cognito-idp"]
        pool_id = self.resources.user_pool_id
        verifier = TokenVerifier(
            jwks_url=f"{control}/{pool_id}/.well-known/jwks.json",
            issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
            audience=self.resources.client_id,
            cache_ttl_s=authorizer_ttl_s(template),
        )
        bucket = TokenBucket(self.knobs.rate, self.knobs.burst) if self.throttle else None
        self.gateway = Gateway(
            self.pool, verifier, folder.access_log, port=self.port, host=self.host, throttle=bucket
        ).start()
        self.consumer = QueueConsumer(
            self.resources.physical["ProcessingQueue"],
            folder.messages,
            depths=folder.queues,
            watch=[self.resources.physical["ProcessingDLQ"]],
        ).start()
        folder.stage_file.write_text(json.dumps(self.describe(), indent=2))

    def _use_env(self, env: dict[str, str]) -> None:
        # The harness's own SDK calls (resources, consumer, audit) go to the backend too.
        for name, value in env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def describe(self) -> dict[str, Any]:
        """What a person or a load test needs to call the stage."""
        if self.gateway is None or self.resources is None or self.backend is None or self.groups is None:
            raise RuntimeError("the stage is not running")
        return {
            "url": self.gateway.url,
            "orders_url": f"{self.gateway.url}/orders",
            "region": REGION,
            "endpoints": self.backend.endpoints,
            "aws_env": self.backend.env(),
            "run_dir": str(self.run_dir),
            "knobs": {**asdict(self.knobs), "throttle": self.throttle},
            "snapstart": self.pool.snapstart if self.pool else None,
            "allotment": self.groups.summary(),
            "interpreter": interpreter_line(self.pool.function) if self.pool else "",
            **self.resources.to_json(),
        }

    def stop(self) -> None:
        """Stop everything this stage started, in reverse order; safe to call twice."""
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.groups is not None:
            groups, self.groups = self.groups, None
            groups.close()
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()
        if self.backend is not None:
            self.backend.stop()
            self.backend = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
