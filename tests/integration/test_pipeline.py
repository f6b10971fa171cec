"""The whole pipeline on the embedded backend, through the CLI other tools use (DESIGN.md contract).

Small, fast workloads: what is asserted is that nothing is lost, doubled or reordered and that
the report, the info file and the HTTP API keep their documented shape.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT_KEYS = {"accepted", "processed", "lost", "duplicates", "order_violations", "dlq", "retries", "makespan_s",
               "lower_bound_s", "efficiency", "throughput_eps", "latency_ms"}
INFO_KEYS = {"api_url", "api_key", "endpoint_url", "region", "queue_url", "dlq_url", "table_name"}


def cli(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_demo_processes_everything_once_in_order(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    done = cli("demo", "--accounts", "40", "--events", "400", "--processing-seconds", "0.05", "--seed", "3",
               "--report-json", str(report_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= set(report) and set(report["latency_ms"]) == {"p50", "p95", "p99"}
    assert (report["accepted"], report["processed"]) == (400, 400)
    assert report["lost"] == report["duplicates"] == report["order_violations"] == report["dlq"] == 0
    assert 0 < report["lower_bound_s"] <= report["makespan_s"]
    assert "400/400 (100.0%)" in done.stderr and "inorder report" in done.stdout  # progress, then the report


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``python -m local serve`` in the background, as a developer runs it; stopped with SIGTERM."""
    workdir = tmp_path_factory.mktemp("serve")
    info_file = workdir / "info.json"
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["PYTHONPATH"] = str(ROOT)
    log = open(workdir / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "local", "serve", "--processing-seconds", "0",
                                "--info-file", str(info_file)], cwd=workdir, env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not info_file.exists():
            assert process.poll() is None, (workdir / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not write its info file"
            time.sleep(0.1)
        info = json.loads(info_file.read_text())
        yield {**info, "workdir": workdir, "process": process}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


def http(info: dict[str, Any], method: str, path: str, body: Any = None, key: str | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(info["api_url"] + path, data=data, method=method,
                                     headers={"x-api-key": key or info["api_key"], "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def queue_depth(info: dict[str, Any]) -> int:
    sqs = boto3.client("sqs", endpoint_url=info["endpoint_url"], region_name=info["region"])
    attributes = sqs.get_queue_attributes(QueueUrl=info["queue_url"], AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_the_info_file_names_everything(served: dict[str, Any]) -> None:
    assert INFO_KEYS <= set(served)
    assert served["api_url"].startswith("http://127.0.0.1:") and served["endpoint_url"].startswith("http://127.0.0.1:")


def test_a_plain_http_client_posts_and_reads_results(served: dict[str, Any]) -> None:
    events = [{"account_id": "curl-1", "seq": 1, "type": "created"}, {"account_id": "curl-1", "seq": 2, "type": "paid"}]
    status, body = http(served, "POST", "/events", {"events": events})
    assert status == 202 and body["accepted"] == 2
    deadline = time.monotonic() + 30
    while True:
        status, body = http(served, "GET", "/accounts/curl-1/results")
        if status == 200 and len(body["results"]) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["account_id"] == "curl-1"
    assert [(r["seq"], r["type"]) for r in body["results"]] == [(1, "created"), (2, "paid")]
    first, second = body["results"]
    assert first["finished_at"] <= second["started_at"]


@pytest.mark.parametrize("body, key, content_type, status", [
    (b"{not json", None, "application/json", 400),
    ({"events": [{"account_id": "x", "seq": 1}]}, None, "application/json", 400),
    ({"events": [{"account_id": "x", "seq": 1, "type": "t"}]}, "wrong-key", "application/json", 403),
    ({"events": [{"account_id": "x", "seq": 1, "type": "t"}]}, None, "text/plain", 415),
])
def test_bad_requests_get_their_error_and_enqueue_nothing(served: dict[str, Any], body: Any, key: str | None,
                                                          content_type: str, status: int) -> None:
    before = queue_depth(served)
    answer = http(served, "POST", "/events", body, key=key, content_type=content_type)
    assert answer[0] == status and "message" in answer[1]
    assert queue_depth(served) == before == 0


def test_generate_and_verify_work_against_a_running_cloud(served: dict[str, Any]) -> None:
    info_file = str(served["workdir"] / "info.json")
    run_file = str(served["workdir"] / "run.json")
    generated = cli("generate", "--info-file", info_file, "--accounts", "20", "--events", "150", "--seed", "5",
                    "--out", run_file, cwd=served["workdir"])
    assert generated.returncode == 0, generated.stderr
    report_path = served["workdir"] / "verify.json"
    verified = cli("verify", "--info-file", info_file, "--run-file", run_file, "--processing-seconds", "0",
                   "--report-json", str(report_path), cwd=served["workdir"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(report_path.read_text())
    assert (report["accepted"], report["processed"], report["lost"], report["order_violations"]) == (150, 150, 0, 0)
