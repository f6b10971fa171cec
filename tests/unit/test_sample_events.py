"""Every file in events/ through ``python -m local invoke`` - ``sam local invoke`` without Docker.

The handlers' behaviour is covered by test_ingest_handler.py / test_processor_handler.py; this
covers the invoke path: the function found in the template by its logical id, its environment
set from the template (nothing here sets it), the resources it names created from the template,
the response on stdout as JSON, logs on stderr, and the exit status. Each file goes to the
function it is for, and to the other function too, which must fail loudly (a function error),
never answer as if the event were its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import resources
from local import invoke as local_invoke
from local.lambda_runtime import InvocationError
from tests.conftest import FUNCTION_MODULES, REGION
from tests.helpers import EVENTS_DIR, queue_depth

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p.name for p in EVENTS_DIR.glob("*.json"))

# What each sample must produce through the function it is for. A new file in events/ fails
# test_every_sample_has_an_expectation until it is added here.
API_STATUS = {"post_events.json": 202, "post_events_invalid.json": 400, "get_results.json": 200}
SQS_FAILED_RECORDS = {"sqs_fifo_batch.json": [], "sqs_fifo_batch_failing.json": [1, 3]}


def target(event: dict[str, Any]) -> str:
    """The function an event is for, from its shape (API Gateway proxy event or SQS batch)."""
    if "httpMethod" in event and "requestContext" in event:
        return "IngestFunction"
    if event.get("Records") and all(r.get("eventSource") == "aws:sqs" for r in event["Records"]):
        return "ProcessorFunction"
    raise AssertionError("neither an API Gateway proxy event nor an SQS batch")


def reset_function_caches() -> None:
    """Each test is a new container. Only modules already imported: importing one here, before
    ``local.invoke`` has set the template's environment, would bind its logger to the wrong service."""
    for module in filter(None, map(sys.modules.get, FUNCTION_MODULES)):
        for attribute in ("_services",):
            cached = getattr(module, attribute, None)
            if cached is not None:
                cached.cache_clear()


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())


def test_events_dir_has_samples_for_both_functions() -> None:
    assert {target(load(name)) for name in SAMPLES} == set(local_invoke.function_ids())


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_has_an_expectation(name: str) -> None:
    expected = API_STATUS if target(load(name)) == "IngestFunction" else SQS_FAILED_RECORDS
    assert name in expected, f"events/{name} is new: add what it must produce to this test"


@pytest.fixture
def deployed() -> Iterator[resources.Deployment]:
    """The template's resources on a fresh in-process moto, and NO function environment set:
    ``local.invoke`` must set it from the template. The process environment is restored after."""
    saved = dict(os.environ)
    for name in ("EVENTS_QUEUE_URL", "RESULTS_TABLE", "PROCESSING_SECONDS"):
        os.environ.pop(name, None)
    try:
        with mock_aws():
            reset_function_caches()
            yield resources.deploy(boto3.Session(region_name=REGION), "samples",
                                   parameters={"ProcessingSeconds": "0"})
    finally:
        reset_function_caches()
        os.environ.clear()
        os.environ.update(saved)


def run(name: str, function: str, deployment: resources.Deployment, logs: Any = None) -> Any:
    import io

    return local_invoke.invoke(function, load(name), deployment.resolver, None, REGION, logs or io.StringIO())


@pytest.mark.parametrize("name", sorted(API_STATUS))
def test_ingest_answers_each_api_sample(name: str, deployed: resources.Deployment) -> None:
    import io

    logs = io.StringIO()
    response = run(name, "IngestFunction", deployed, logs)
    assert response["statusCode"] == API_STATUS[name], response
    body = json.loads(response["body"])
    depth = queue_depth(boto3.client("sqs", region_name=REGION), deployed.ref("EventsQueue"))
    assert depth == (body["accepted"] if API_STATUS[name] == 202 else 0)
    assert os.environ["EVENTS_QUEUE_URL"] == deployed.ref("EventsQueue")  # from the template
    logged = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert all(line["function_name"] == "IngestFunction" for line in logged)
    if name.startswith("post_"):
        assert logged, "the ingest function logs its answer"


@pytest.mark.parametrize("name", sorted(SQS_FAILED_RECORDS))
def test_processor_answers_each_sqs_sample(name: str, deployed: resources.Deployment) -> None:
    event = load(name)
    response = run(name, "ProcessorFunction", deployed)
    failed = [event["Records"][i]["messageId"] for i in SQS_FAILED_RECORDS[name]]
    assert response == {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=deployed.ref("ResultsTable"))["Items"]
    assert len(items) == len(event["Records"]) - len(failed)  # written to the template's table
    assert os.environ["PROCESSING_SECONDS"] == "0"


@pytest.mark.parametrize("name", SAMPLES)
def test_the_other_function_fails_loudly_on_a_sample(name: str, deployed: resources.Deployment) -> None:
    other = ({"IngestFunction", "ProcessorFunction"} - {target(load(name))}).pop()
    with pytest.raises(InvocationError) as raised:
        run(name, other, deployed)
    assert raised.value.kind == "Unhandled"
    assert set(local_invoke.error_payload(raised.value)) == {"errorType", "errorMessage"}


def test_an_unknown_function_is_refused(deployed: resources.Deployment) -> None:
    with pytest.raises(KeyError, match="IngestFunction"):
        run("post_events.json", "NoSuchFunction", deployed)


def test_parameter_overrides_take_both_spellings_and_only_known_names() -> None:
    assert local_invoke.parse_overrides(["ProcessingSeconds=0",
                                         "ParameterKey=LogLevel,ParameterValue=DEBUG"]) == {
        "ProcessingSeconds": "0", "LogLevel": "DEBUG"}
    with pytest.raises(ValueError, match="no parameter"):
        local_invoke.parse_overrides(["Nope=1"])


# --- the command itself, as a user runs it (embedded backend in a child process) -----------------

def cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "local", "invoke", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=60, input=stdin)


@pytest.mark.parametrize("name", SAMPLES)
def test_python_m_local_invoke_runs_every_sample(name: str, tmp_path: Path) -> None:
    function = target(load(name))
    done = cli(function, "-e", str(EVENTS_DIR / name), "--parameter-overrides", "ProcessingSeconds=0",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)  # stdout is the response and nothing else
    if function == "IngestFunction":
        assert response["statusCode"] == API_STATUS[name]
    else:
        assert len(response["batchItemFailures"]) == len(SQS_FAILED_RECORDS[name])
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert all(line["function_name"] == function for line in logged)  # the function's logs: stderr
    if name != "get_results.json":  # the only sample whose function logs nothing
        assert logged


def test_python_m_local_invoke_exits_non_zero_on_a_function_error(tmp_path: Path) -> None:
    done = cli("ProcessorFunction", "-e", "-", cwd=tmp_path, stdin='{"Records": 5}')
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["errorType"] == "TypeError"


def test_python_m_local_invoke_refuses_an_unknown_function(tmp_path: Path) -> None:
    done = cli("NoSuchFunction", cwd=tmp_path)
    assert done.returncode == 2 and "IngestFunction" in done.stderr and done.stdout == ""
