"""template.yaml and the code agree: lint-clean, every variable the code reads is defined, the
handlers it names exist, the API routes it declares are the ones ingest serves, and its queue
timing fits the processor.

(The deployed resources are checked in test_template_deployed.py; ``sam validate --lint`` runs
in CI with SAM CLI's own venv: ``make sam-validate``.)
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import pytest

from infra import template

FUNCTIONS = template.FUNCTIONS_DIR
# Where the functions read their environment (DESIGN.md: "read in one place").
ENV_READERS = (FUNCTIONS / "inorder" / "config.py", FUNCTIONS / "inorder" / "aws.py")
# Read by the code but set only by the local cloud (a wider connection pool); optional on AWS.
LOCAL_ONLY = {"INORDER_MAX_POOL_CONNECTIONS"}
# Read by aws-lambda-powertools, not by our code.
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}


def function_ids() -> list[str]:
    return sorted(template.resources_of_type("AWS::Serverless::Function"))


def names_read_by_the_code() -> set[str]:
    """Every ENV_VAR_LIKE string literal in the files that read the environment."""
    found: set[str] = set()
    for path in ENV_READERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.isupper() and "_" in node.value and node.value.replace("_", "").isalnum():
                found.add(node.value)
    return found


def placeholder_environment(function_id: str) -> dict[str, str]:
    """The function's template environment, with references resolved to stand-in values."""
    resolver = template.Resolver(
        refs={**template.parameters(), "EventsQueue": "https://sqs.example/q.fifo", "ResultsTable": "results",
              "AWS::StackName": "s", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"})
    return {k: str(v) for k, v in resolver(template.function(function_id).environment).items()}


def test_cfn_lint_is_clean() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(template.TEMPLATE_PATH)
    assert not matches, "\n".join(str(m) for m in matches)


def test_the_code_reads_variables_this_test_can_see() -> None:
    """Guards the scan below: if the readers move, this fails instead of checking nothing."""
    assert {"EVENTS_QUEUE_URL", "RESULTS_TABLE", "PROCESSING_SECONDS"} <= names_read_by_the_code()


def test_every_variable_the_code_reads_is_in_the_template() -> None:
    defined = {name for f in function_ids() for name in template.function(f).environment}
    missing = names_read_by_the_code() - LOCAL_ONLY - defined
    assert not missing, f"the code reads {sorted(missing)}, which template.yaml never sets"


def test_every_variable_in_the_template_is_read() -> None:
    defined = {name for f in function_ids() for name in template.function(f).environment}
    unused = defined - names_read_by_the_code() - POWERTOOLS
    assert not unused, f"template.yaml sets {sorted(unused)}, which no code reads"


@pytest.mark.parametrize("function_id", function_ids())
def test_each_function_starts_with_its_template_environment(function_id: str) -> None:
    from inorder.config import load_settings

    settings = load_settings(placeholder_environment(function_id))
    assert settings.queue_url == "https://sqs.example/q.fifo" and settings.table_name == "results"


def test_the_processor_gets_the_template_processing_time() -> None:
    from inorder.config import load_settings

    settings = load_settings(placeholder_environment("ProcessorFunction"))
    assert settings.processing_seconds == float(template.parameters()["ProcessingSeconds"])


@pytest.mark.parametrize("function_id", function_ids())
def test_handlers_import_and_are_callable(function_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Powertools logger takes its service name at import: give it the template's, as Lambda would.
    for name, value in placeholder_environment(function_id).items():
        monkeypatch.setenv(name, value)
    module_name, attribute = template.function(function_id).handler.rsplit(".", 1)
    assert (FUNCTIONS / Path(*module_name.split("."))).with_suffix(".py").is_file(), "handler outside CodeUri"
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_the_api_routes_are_the_routes_ingest_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in placeholder_environment("IngestFunction").items():
        monkeypatch.setenv(name, value)
    app: Any = importlib.import_module("ingest.app").app
    served = {(method.upper(), path) for path, item in app.get_openapi_schema().paths.items()
              for method in ("get", "post", "put", "patch", "delete", "head", "options")
              if getattr(item, method, None) is not None}
    declared = {(method, path) for method, path, spec in template.api_routes()}
    assert {spec.logical_id for _, _, spec in template.api_routes()} == {"IngestFunction"}
    assert served == declared


def test_visibility_timeout_is_at_least_six_times_the_processor_timeout() -> None:
    spec, event = template.event_of_type("SQS")
    queue_id = event["Queue"]["Fn::GetAtt"][0]
    visibility = int(template.resource(queue_id)["Properties"]["VisibilityTimeout"])
    assert visibility >= 6 * spec.timeout_s, f"{visibility} s < 6 x {spec.timeout_s} s"


def test_the_api_answers_within_its_integration_timeout() -> None:
    """API Gateway gives a REST integration 29 s by default: ingest must not be allowed longer."""
    ingest = {spec.logical_id: spec for _, _, spec in template.api_routes()}["IngestFunction"]
    assert ingest.timeout_s <= 29


SAM = template.ROOT / ".venv-sam" / "bin" / "sam"


@pytest.mark.skipif(not SAM.exists(), reason="SAM CLI's venv .venv-sam is missing: 'make sam-validate' creates it "
                                             "(.ci/run does, before 'make test')")
def test_sam_validate_lint_is_clean() -> None:
    """SAM CLI runs from its own venv, in a child process: never imported into the project's."""
    import os
    import subprocess

    done = subprocess.run([str(SAM), "validate", "--lint", "--region", "us-east-1"], cwd=template.ROOT,
                          env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "is a valid SAM Template" in done.stdout + done.stderr, done.stdout + done.stderr
