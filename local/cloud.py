"""The local cloud: moto server + emulators + the template's stack + the function runner.

Example::

    with LocalCloud(Path("template.yaml")) as cloud:
        cloud.client("events").put_events(...)
        requests.post(cloud.api_url + "/estimates/endpoint", ...)

Everything listens on 127.0.0.1. Port 0 picks free ports (tests); `make run` uses fixed ones.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from werkzeug.serving import make_server

from local import moto_patches
from local.artifact.__main__ import build_host
from local.artifact.build import Artifact, runtime_dir
from local.custom_resources import CustomResourceError, CustomResourceHost
from local.emulators import Emulator, registry
from local.process_server import OwnProcess, ProcessServer
from local.provision import LOCAL_PARAMETERS, REGION, Translation, deploy, translate
from local.runner import FunctionSpec, Runner
from local.runner.sources.api_gateway import ApiGateway, routes_from_template
from local.runner.sources.kinesis import KinesisPoller
from local.runner.sources.schedule import ScheduledTarget, ScheduleTicker, rate_seconds, scheduled_targets
from local.runner.sources.sqs import SqsPoller

log = logging.getLogger("pitwall.local")
ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # noqa: S105 - moto accepts any


@dataclass
class Ports:
    """Where each part listens; 0 = any free port."""

    moto: int = 0
    api: int = 0
    comprehend: int = 0
    firehose: int = 0
    a2i: int = 0
    dashboard: int = 0


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


class _WsgiServer:
    def __init__(self, app: Any, host: str, port: int, name: str) -> None:
        self.server = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@dataclass
class LocalCloud:
    """Starts, deploys and runs the whole system on this machine; see the module docstring."""

    template: Path = ROOT / "template.yaml"
    ports: Ports = field(default_factory=Ports)
    stack_name: str = "pitwall"
    parameters: dict[str, str] = field(default_factory=dict)
    log_dir: Path = ROOT / ".local" / "logs"
    # Sandboxes per function (overrides). By default a function fed by SQS gets as many as its
    # mapping's ScalingConfig.MaximumConcurrency allows, up to `sqs_concurrency`: Lambda runs several
    # batches of a queue at once, and consumers must be right under that; every other function one.
    concurrency: dict[str, int] = field(default_factory=dict)
    sqs_concurrency: int = 2
    host: str = "127.0.0.1"
    emulator_settings: dict[str, Any] = field(default_factory=dict)
    dashboard: bool = False
    # Every scheduled rule fires at this period (seconds) instead of its own; None = its own.
    schedule_period_s: float | None = None

    def __post_init__(self) -> None:
        self.moto: Any = None
        self.moto_url = ""
        self.translation: Translation | None = None
        self.resources: dict[str, str] = {}
        self.runner: Runner | None = None
        self.gateway: ApiGateway | None = None
        self.pollers: list[Any] = []
        self.schedule: ScheduleTicker | None = None
        self.emulators: dict[str, Emulator] = {}
        self.servers: list[_WsgiServer | ProcessServer] = []
        self._clients: dict[str, Any] = {}
        self.artifact: Artifact | None = None
        self.dashboard_url = ""
        self._feed: Any = None
        self.custom_resources: CustomResourceHost | None = None
        # The local defaults (a work team, so human review is on) under what the caller gave.
        self.parameters = LOCAL_PARAMETERS | self.parameters

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        """Start everything; on a failure, stop what had started and raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalCloud:
        from moto.server import ThreadedMotoServer

        moto_patches.apply()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.moto = ThreadedMotoServer(ip_address=self.host, port=self.ports.moto or _free_port(), verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        # moto keeps its state per process, not per server: start from an empty account, as a new
        # local cloud should, even when an earlier one ran in this process (tests).
        urllib.request.urlopen(urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST"))  # noqa: S310
        # Each function runs from its built artifact (host CPU, same requirements as the deploy).
        self.artifact = build_host(self.template)
        self.translation = translate(self.template, self.parameters)
        # The emulators the functions call start first: a custom resource's function calls them
        # while the stack is being created (the A2I flow definition, issue 14).
        self._start_emulators(before_functions=True)
        self.custom_resources = CustomResourceHost(self._custom_resource_spec, self.host).start()
        moto_patches.set_custom_resource_handler(self.custom_resources.run)
        try:
            self.resources = deploy(self.translation, stack_name=self.stack_name,
                                    cloudformation=self.client("cloudformation"), s3=self.client("s3"))
        except Exception as error:
            # moto answers a custom resource's failure as a 500 to CreateStack: say what failed, as
            # CloudFormation's CREATE_FAILED reason would.
            if self.custom_resources.failures:
                raise CustomResourceError(f"local stack {self.stack_name} did not deploy: "
                                          + "; ".join(self.custom_resources.failures)) from error
            raise
        finally:
            moto_patches.set_custom_resource_handler(None)
        self.runner = Runner(self._function_specs())
        self.runner.warm()  # every sandbox starts and imports its handler now, in parallel
        self.gateway = ApiGateway(self.runner, routes_from_template(self.translation.sam), self.host, self.ports.api)
        self.gateway.start()
        self._start_pollers()
        self._start_emulators(before_functions=False)
        for server in self.servers:
            if isinstance(server, ProcessServer):
                server.wait_ready()  # loaded in parallel with the workers' cold starts
        if self.dashboard:
            self._start_dashboard()
        return self

    def stop(self) -> None:
        if self._feed is not None:
            self._feed.stop()
        if self.custom_resources is not None:
            self.custom_resources.stop()
        for poller in self.pollers:
            poller.stop()
        if self.gateway is not None:
            self.gateway.stop()
        for server in self.servers:
            server.stop()
        if self.runner is not None:
            self.runner.stop()
        if self.moto is not None:
            self.moto.stop()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what callers use ---------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "the local cloud is not started"
        return self.gateway.url

    def endpoint(self, service: str) -> str:
        """The URL a boto3 client of `service` should use (moto, or the service's emulator)."""
        for emulator in self.emulators.values():
            if any(variable.endswith("_" + _env_id(service)) for variable in emulator.variables):
                return emulator.url
        return self.moto_url

    def client(self, service: str) -> Any:
        """A boto3 client for `service` pointed at the local cloud (cached)."""
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service, endpoint_url=self.endpoint(service), region_name=REGION,
                config=Config(retries={"mode": "standard", "max_attempts": 3}), **CREDENTIALS,
            )
        return self._clients[service]

    def physical_id(self, logical_id: str) -> str:
        """The physical id (name, URL or ARN, as CloudFormation's Ref gives it) of a template resource."""
        try:
            return self.resources[logical_id]
        except KeyError:
            raise KeyError(f"no resource {logical_id!r} in the local stack") from None

    def base_environment(self) -> dict[str, str]:
        """Variables every function gets locally: endpoints, region, fake credentials."""
        env = {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PITWALL_LOCAL": "1",
        }
        for emulator in self.emulators.values():
            for variable in emulator.variables if emulator.url else ():
                env[variable] = emulator.url
        return env

    # --- internals ---------------------------------------------------------------------------
    def _function_specs(self) -> list[FunctionSpec]:
        assert self.translation is not None and self.artifact is not None
        cfn = self.translation.cfn["Resources"]
        lambda_client = self.client("lambda")
        pools = self._pool_sizes() | self.concurrency
        specs = []
        for logical_id, resource in cfn.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            config = lambda_client.get_function_configuration(FunctionName=self.physical_id(logical_id))
            specs.append(FunctionSpec(
                logical_id=logical_id,
                function_name=config["FunctionName"],
                function_arn=config["FunctionArn"],
                handler=config["Handler"],
                code_dir=self.artifact.function_dir(logical_id),
                layer_dirs=self.artifact.layer_dirs(logical_id),
                runtime_dirs=[runtime_dir(self.artifact.targets[logical_id])],
                requirements=self.artifact.stack.functions[logical_id].requirements,
                environment=self.base_environment() | config.get("Environment", {}).get("Variables", {}),
                timeout_s=float(config.get("Timeout", 3)),
                memory_mb=int(config.get("MemorySize", 128)),
                log_path=self.log_dir / f"{logical_id}.log",
                concurrency=pools.get(logical_id, 1),
            ))
        return specs

    def _custom_resource_spec(self, function: dict[str, Any]) -> FunctionSpec:
        """How a custom resource's function runs while the stack is created (local/custom_resources.py)."""
        assert self.artifact is not None
        logical_id = function["logical_id"]
        return FunctionSpec(
            logical_id=logical_id, function_name=function["function_name"], function_arn=function["function_arn"],
            handler=function["handler"], code_dir=self.artifact.function_dir(logical_id),
            layer_dirs=self.artifact.layer_dirs(logical_id),
            runtime_dirs=[runtime_dir(self.artifact.targets[logical_id])],
            requirements=self.artifact.stack.functions[logical_id].requirements,
            environment=self.base_environment() | function["environment"],
            timeout_s=float(function["timeout"]), memory_mb=int(function["memory_size"]),
            log_path=self.log_dir / f"{logical_id}.log")

    def _pool_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for mapping in self.client("lambda").list_event_source_mappings()["EventSourceMappings"]:
            if not mapping["EventSourceArn"].startswith("arn:aws:sqs:"):
                continue
            maximum = int((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") or self.sqs_concurrency)
            logical_id = self.function_logical_id(mapping["FunctionArn"])
            sizes[logical_id] = max(sizes.get(logical_id, 1), min(maximum, self.sqs_concurrency))
        return sizes

    def function_logical_id(self, function_arn_or_name: str) -> str:
        """Map a function ARN or physical name back to its logical id."""
        name = function_arn_or_name.rsplit(":", 1)[-1]
        for logical_id, physical in self.resources.items():
            if physical == name:
                return logical_id
        raise KeyError(f"no function {function_arn_or_name!r} in the local stack")

    def wait_until_drained(self, timeout_s: float = 60.0) -> None:
        """Return once the functions have nothing left to do: every poller has finished an empty poll
        after the last check, and every queue a poller reads holds no message (visible, in flight or
        delayed). Tests wait on this instead of sleeping before they assert "no duplicate"."""
        sqs = self.client("sqs")
        queues = [poller.queue_url for poller in self.pollers if isinstance(poller, SqsPoller)]
        deadline = time.monotonic() + timeout_s
        while True:
            marks = [(poller, poller.rounds()) for poller in self.pollers]
            while not all(poller.idle_since(mark) for poller, mark in marks):
                if time.monotonic() > deadline:
                    busy = [poller.name for poller, mark in marks if not poller.idle_since(mark)]
                    raise TimeoutError(f"local cloud not drained within {timeout_s:.0f} s: busy {busy}")
                time.sleep(0.05)
            pending = 0
            for url in queues:
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"])["Attributes"]
                pending += sum(int(value) for value in attributes.values())
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"local cloud not drained within {timeout_s:.0f} s: {pending} message(s) queued")
            time.sleep(0.1)

    def _start_pollers(self) -> None:
        assert self.runner is not None
        for mapping in self.client("lambda").list_event_source_mappings()["EventSourceMappings"]:
            logical_id = self.function_logical_id(mapping["FunctionArn"])
            arn = mapping["EventSourceArn"]
            if arn.startswith("arn:aws:sqs:"):
                poller: Any = SqsPoller(self.runner, logical_id, mapping, self.client("sqs"), REGION)
            elif arn.startswith("arn:aws:kinesis:"):
                poller = KinesisPoller(self.runner, logical_id, mapping, self.client("kinesis"), self.client("sqs"), REGION)
            else:
                log.warning("no local poller for event source %s", arn)
                continue
            poller.start()
            self.pollers.append(poller)
        self._start_schedule()

    def _start_schedule(self) -> None:
        assert self.runner is not None and self.translation is not None
        events = self.client("events")
        targets = [
            ScheduledTarget(rule, function, arn, self.schedule_period_s or rate_seconds(expression))
            for rule, function, expression, arn in scheduled_targets(
                self.translation.cfn, lambda name: events.describe_rule(Name=self.physical_id(name))["Arn"])
        ]
        if targets:
            self.schedule = ScheduleTicker(self.runner, targets, REGION)
            self.schedule.start()
            self.pollers.append(self.schedule)

    def _start_emulators(self, *, before_functions: bool) -> None:
        for emulator in registry(before_functions=before_functions):
            app = emulator.build(self)
            if app is None:
                continue
            port = getattr(self.ports, emulator.port_attribute)
            server: _WsgiServer | ProcessServer = (
                ProcessServer(app, self.host, port, emulator.name) if isinstance(app, OwnProcess)
                else _WsgiServer(app, self.host, port, emulator.name))
            emulator.server = server
            emulator.url = server.url
            self.servers.append(server)
            self.emulators[emulator.name] = emulator


    def _start_dashboard(self) -> None:
        from local.dashboard.feed import DashboardFeed
        from local.dashboard.server import DashboardApp, Hub

        hub = Hub()
        redacted = next((physical for logical, physical in self.resources.items()
                         if "Redacted" in logical and "Bucket" in logical and "Policy" not in logical), None)
        self._feed = DashboardFeed(sqs=self.client("sqs"), events=self.client("events"), s3=self.client("s3"),
                                   bus_name=self.physical_id("PitwallBus"), redacted_bucket=redacted, on_change=hub.notify)
        self._feed.start()
        links = {"api": self.api_url}
        if "a2i" in self.emulators:
            links["reviewer"] = self.emulators["a2i"].url + "/"
        server = _WsgiServer(DashboardApp(self._feed, hub, links), self.host, self.ports.dashboard, "dashboard")
        self.servers.append(server)
        self.dashboard_url = server.url


def _env_id(service: str) -> str:
    return service.upper().replace("-", "_")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
