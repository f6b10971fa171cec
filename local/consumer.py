"""The processor's side of the local cloud: event source mapping + processor function.

Runs in its own process by default (``python -m local.consumer CONFIG_JSON``), as the processor
runs on its own fleet on AWS: hundreds of concurrent invocations would otherwise share one
interpreter lock with the API and starve ingest. Tests may run it in-process instead.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from infra import template
from infra.template import Resolver
from local.event_source_mapping import EventSourceMapping
from local.faults import FaultPlan, injected
from local.lambda_runtime import LocalFunction, function_logs_to, open_log, prepare_environment
from local.poller_client import PollerClient

# Threads that share one of the functions' boto3 clients here: up to MaximumConcurrency invocations.
POOL_CONNECTIONS = 256
# Connections of the event source mapping's own client: its pollers' long polls plus the deletes of
# finished batches, which wait for a free one. Every open connection costs the embedded backend's
# I/O loop on each turn; a pool as wide as the invocations doubled the backend's connections.
POLLERS = 8
POLLER_CONNECTIONS = 2 * POLLERS


def resolver_to_json(resolver: Resolver) -> dict[str, Any]:
    return {"refs": resolver.refs, "attrs": {f"{k[0]}.{k[1]}": v for k, v in resolver.attrs.items()}}


def resolver_from_json(data: dict[str, Any]) -> Resolver:
    return Resolver(dict(data["refs"]), {tuple(k.split(".", 1)): v for k, v in data["attrs"].items()})


def start_mapping(resolver: Resolver, endpoint_url: str, region: str, share: int = 1,
                  handler: str | None = None) -> EventSourceMapping:
    """Build the template's SQS event source mapping for its function, and start polling.

    ``share``: how many consumer processes split the mapping's ``MaximumConcurrency`` between them.
    ``handler``: a "module.function" to run instead of the template's ``Handler`` (benchmarks).
    """
    spec, event = template.event_of_type("SQS")
    if handler:
        spec = dataclasses.replace(spec, handler=handler)
    prepare_environment([spec], resolver, endpoint_url, region)
    os.environ["INORDER_MAX_POOL_CONNECTIONS"] = str(POOL_CONNECTIONS)
    function = LocalFunction(spec, region)
    resolved = resolver(event)
    queue_id = event["Queue"]["Fn::GetAtt"][0]
    return EventSourceMapping(
        PollerClient(endpoint_url, region, POLLER_CONNECTIONS), resolver.refs[queue_id], resolved["Queue"],
        function, batch_size=int(resolved.get("BatchSize", 10)),
        maximum_concurrency=-(-int(resolved.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)) // share),
        region=region, pollers=POLLERS,
    ).start()


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with injected(FaultPlan.from_json(config["faults"])), open_log(Path(config["log_path"])) as log:
        mapping = start_mapping(resolver_from_json(config["resolver"]), config["endpoint_url"], config["region"],
                                config["share"], config.get("handler"))
        with function_logs_to(log):  # the handler module (and its logger) exists once the mapping is built
            print("READY", flush=True)
            stop.wait()
            mapping.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
