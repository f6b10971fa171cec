"""``python -m local invoke FUNCTION -e EVENT`` - ``sam local invoke`` without Docker.

Runs one function of ``template.yaml`` once, in this process, the way ``sam local invoke`` runs
it in a container: the handler from the template, its environment from the template (resolved
against real resources), a Lambda context with the template's timeout, and that timeout enforced.
The resources (queues, table) are created from the template on the embedded backend, or on
``AWS_ENDPOINT_URL`` when it is set (LocalStack, or the backend of a running ``python -m local serve``).

Like SAM CLI: the function's response goes to stdout as JSON, its logs to stderr. A function
error (it raised, or overran its timeout) prints Lambda's error payload and exits with status 1.
A response that *describes* a failure (an HTTP 400, a partial batch failure) is a success.

    python -m local invoke IngestFunction -e events/post_events.json
    python -m local invoke ProcessorFunction -e events/sqs_fifo_batch.json --parameter-overrides ProcessingSeconds=0
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import boto3

from infra import resources, template
from infra.template import Resolver
from local.aws import use_dummy_credentials
from local.backend import start_backend
from local.lambda_runtime import InvocationError, LocalFunction, function_logs_to, prepare_environment

FUNCTION_TYPE = "AWS::Serverless::Function"
LOG_DIR = Path(".inorder") / "logs"


def add_parser(subcommands: Any) -> None:
    """Register ``invoke`` on the CLI's subcommands (see local/cli.py)."""
    parser = subcommands.add_parser(
        "invoke", help="invoke one function of template.yaml with an event (sam local invoke, no Docker)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", metavar="FUNCTION",
                        help=f"logical id of a function in template.yaml ({', '.join(function_ids())})")
    parser.add_argument("-e", "--event", help="JSON event file, '-' for stdin (default: {})")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="template parameters, e.g. ProcessingSeconds=0")
    parser.add_argument("--stack-name", default="inorder", help="names the resources (default: inorder)")
    parser.set_defaults(run=run_invoke)


def function_ids() -> list[str]:
    return sorted(template.resources_of_type(FUNCTION_TYPE))


def invoke(function_id: str, event: Any, resolver: Resolver, endpoint_url: str | None, region: str,
           logs: TextIO | None = None) -> Any:
    """Invoke ``function_id`` once with ``event`` against the resources ``resolver`` names.

    Sets the function's template environment in this process first (as Lambda sets a container's),
    sends the function's logs to ``logs`` (default stderr) for the call, and returns the response;
    raises ``InvocationError`` on a function error.
    """
    if function_id not in function_ids():
        raise KeyError(f"{function_id} is not a function of template.yaml; functions: {', '.join(function_ids())}")
    spec = template.function(function_id)
    prepare_environment([spec], resolver, endpoint_url, region)
    function = LocalFunction(spec, region)
    with function_logs_to(logs or sys.stderr):
        return function.invoke(event)


def error_payload(error: InvocationError) -> dict[str, str]:
    """What Lambda answers for a function error (``errorType`` as ``sam local invoke`` prints it)."""
    cause = error.__cause__
    kind = type(cause).__name__ if cause is not None else error.kind
    return {"errorType": kind, "errorMessage": str(cause) if cause is not None else str(error)}


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` or SAM's ``ParameterKey=KEY,ParameterValue=VALUE``, checked against the template."""
    known = template.parameters()
    out: dict[str, str] = {}
    for item in items:
        if item.startswith("ParameterKey="):
            fields = dict(part.split("=", 1) for part in item.split(",", 1))
            key, value = fields.get("ParameterKey", ""), fields.get("ParameterValue", "")
        elif "=" in item:
            key, value = item.split("=", 1)
        else:
            raise ValueError(f"parameter override {item!r} is not KEY=VALUE")
        if key not in known:
            raise ValueError(f"template.yaml has no parameter {key!r}; parameters: {', '.join(sorted(known))}")
        out[key] = value
    return out


def read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def run_invoke(args: argparse.Namespace) -> int:
    try:
        overrides = parse_overrides(args.parameter_overrides)
        event = read_event(args.event)
    except (OSError, ValueError) as error:
        print(f"invoke: {error}", file=sys.stderr)
        return 2
    if args.function not in function_ids():
        print(f"invoke: {args.function} is not a function of template.yaml; functions: "
              f"{', '.join(function_ids())}", file=sys.stderr)
        return 2
    use_dummy_credentials()
    region = os.environ["AWS_DEFAULT_REGION"]
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
    with contextlib.ExitStack() as stack:
        if not endpoint_url:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            endpoint_url = stack.enter_context(start_backend(log_path=LOG_DIR / "invoke-backend.log")).endpoint_url
        deployment = resources.deploy(boto3.Session(region_name=region), args.stack_name, endpoint_url, overrides)
        print(f"invoking {args.function} ({template.function(args.function).handler}) on {endpoint_url}",
              file=sys.stderr)
        try:
            response = invoke(args.function, event, deployment.resolver, endpoint_url, region)
        except InvocationError as error:
            print(json.dumps(error_payload(error)), flush=True)
            print(f"invoke: {args.function} failed: {error}", file=sys.stderr)
            return 1
    print(json.dumps(response), flush=True)
    return 0
