"""The whole local cloud in one context manager: backend, resources, API, event source mapping.

With no ``AWS_ENDPOINT_URL`` it starts the embedded backend (patched moto server, its own
process); with one (LocalStack, say) it uses that endpoint for SQS and DynamoDB. Either way the
resources come from ``template.yaml`` and the functions run in this process through the local
API Gateway and event source mapping.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra import resources, template
from local import consumer
from local.api_gateway import ApiGateway, Route, TokenBucket
from local.aws import use_dummy_credentials
from local.backend import start_backend
from local.child_process import Child, start_children
from local.event_source_mapping import EventSourceMapping
from local.faults import FaultPlan, injected
from local.lambda_runtime import LocalFunction, function_logs_to, open_log, prepare_environment

# Threads of the API process that share one boto3 client: the ingest lanes of concurrent requests.
POOL_CONNECTIONS = 64


@dataclass
class CloudOptions:
    processing_seconds: float | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides
    port: int = 0
    stack_name: str = "inorder"
    log_dir: Path = field(default_factory=lambda: Path(".inorder") / "logs")
    api_key: str | None = None
    consumer_in_process: bool = False  # tests inspect the mapping directly; runs isolate it
    # Like Lambda's fleet, the consumer spans processes: one interpreter lock cannot run the
    # hundreds of concurrent invocations of the mission on a 2-core machine.
    consumer_processes: int = int(os.environ.get("INORDER_CONSUMER_PROCESSES", "3"))
    faults: FaultPlan = field(default_factory=FaultPlan)
    processor_handler: str | None = None  # "module.function" run instead of the template's Handler (benchmarks)


class LocalCloud(contextlib.AbstractContextManager):
    def __init__(self, options: CloudOptions | None = None):
        self.options = options or CloudOptions()
        self._stack = contextlib.ExitStack()
        self.endpoint_url: str | None = None
        self.api: ApiGateway | None = None
        self.mapping: EventSourceMapping | None = None  # only when the consumer runs in this process
        self.consumers: list[Child] = []  # only when it runs in processes of its own
        self.deployment: resources.Deployment | None = None

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        opts = self.options
        use_dummy_credentials()
        region = os.environ["AWS_DEFAULT_REGION"]
        self.endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
        opts.log_dir.mkdir(parents=True, exist_ok=True)
        if not self.endpoint_url:
            backend = self._stack.enter_context(start_backend(log_path=opts.log_dir / "backend.log"))
            self.endpoint_url = backend.endpoint_url
        params = dict(opts.parameters)
        if opts.processing_seconds is not None:
            params["ProcessingSeconds"] = str(opts.processing_seconds)
        self.deployment = resources.deploy(boto3.Session(region_name=region), opts.stack_name,
                                           self.endpoint_url, params)
        self.start_consumer()
        self.api = self._start_api(region)

    def start_consumer(self) -> None:
        """Start the event source mapping and processor (again, after a consumer died: tests do that)."""
        assert self.deployment is not None
        region = self.deployment.region
        if self.options.consumer_in_process:
            self._stack.enter_context(injected(self.options.faults))
            self.mapping = consumer.start_mapping(self.deployment.resolver, self.endpoint_url, region,
                                                  handler=self.options.processor_handler)
            self._stack.callback(self.mapping.stop)
            return
        processes = self.options.consumer_processes
        config = {"resolver": consumer.resolver_to_json(self.deployment.resolver),
                  "endpoint_url": self.endpoint_url, "region": region, "log_path": str(self.results_log),
                  "faults": self.options.faults.to_json(), "share": processes,
                  "handler": self.options.processor_handler}
        logs = [self.options.log_dir / f"consumer-{i}.log" for i in range(processes)]
        self.consumers = self._stack.enter_context(start_children("local.consumer", [[json.dumps(config)]] * processes,
                                                                  logs))

    def _start_api(self, region: str) -> ApiGateway:
        assert self.deployment is not None
        specs = {spec.logical_id: spec for _, _, spec in template.api_routes()}
        prepare_environment(list(specs.values()), self.deployment.resolver, self.endpoint_url, region)
        os.environ["INORDER_MAX_POOL_CONNECTIONS"] = str(POOL_CONNECTIONS)
        functions = {name: LocalFunction(spec, region) for name, spec in specs.items()}
        log_name = "functions.log" if self.options.consumer_in_process else "ingest.log"
        log = self._stack.enter_context(open_log(self.options.log_dir / log_name))
        self._stack.enter_context(function_logs_to(log))
        api_props = next(iter(template.resources_of_type("AWS::Serverless::Api").values()))["Properties"]
        stage = self.deployment.resolver(api_props["StageName"])
        throttle = api_props["Auth"]["UsagePlan"]["Throttle"]
        routes = [Route(method, path, functions[spec.logical_id]) for method, path, spec in template.api_routes()]
        api = ApiGateway(routes, self.options.api_key or secrets.token_urlsafe(24), stage,
                         TokenBucket(float(throttle["RateLimit"]), int(throttle["BurstLimit"])),
                         port=self.options.port).start()
        self._stack.callback(api.stop)
        return api

    @property
    def results_log(self) -> Path:
        """Where the processor's log of results goes (one process's functions share one logger)."""
        in_process = self.options.consumer_in_process
        return self.options.log_dir / ("functions.log" if in_process else "processor.log")

    def info(self) -> dict[str, Any]:
        """What other tools need to use this cloud (the ``serve --info-file`` contract)."""
        assert self.api is not None and self.deployment is not None
        return {
            "api_url": self.api.url,
            "api_key": self.api.api_key,
            "endpoint_url": self.endpoint_url,
            "region": self.deployment.region,
            "queue_url": self.deployment.ref("EventsQueue"),
            "dlq_url": self.deployment.ref("EventsDeadLetterQueue"),
            "table_name": self.deployment.ref("ResultsTable"),
            "stack_name": self.deployment.stack_name,
        }
