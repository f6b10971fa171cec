"""The event source mapping's own SQS client signs as botocore does and answers as boto3 does."""
from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local.backend import start_backend
from local.poller_client import PollerClient, SqsError

REGION = "us-east-1"
VOLATILE = {"ReceiptHandle", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with start_backend() as backend:
        yield backend.endpoint_url


@pytest.fixture
def queue(endpoint: str) -> tuple[Any, str]:
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    url = sqs.create_queue(QueueName=f"poller-{datetime.datetime.now().timestamp():.0f}.fifo",
                           Attributes={"FifoQueue": "true", "VisibilityTimeout": "0"})["QueueUrl"]
    return sqs, url


def _norm(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: ({a: v for a, v in value.items() if a not in VOLATILE} if k == "Attributes" else value)
             for k, value in m.items() if k not in VOLATILE} for m in messages]


@pytest.mark.parametrize("token", [None, "session-token"])
def test_the_signature_is_botocores(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    now = datetime.datetime(2026, 12, 4, 9, 30, 15, tzinfo=datetime.timezone.utc)
    body = json.dumps({"QueueUrl": "http://127.0.0.1:4566/000000000000/q.fifo", "MaxNumberOfMessages": 10}).encode()
    ours = PollerClient("http://127.0.0.1:4566", "eu-west-1", connections=1).headers("ReceiveMessage", body, now.timestamp())

    request = AWSRequest("POST", "http://127.0.0.1:4566/", data=body,
                         headers={"Content-Type": ours["Content-Type"], "X-Amz-Target": ours["X-Amz-Target"]})
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: now.replace(tzinfo=None))
    SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), "sqs",
              "eu-west-1").add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]


def test_receive_and_delete_answer_as_boto3_does(endpoint: str, queue: tuple[Any, str]) -> None:
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="a", MessageDeduplicationId="a1",
                     MessageAttributes={"blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbytes"},
                                        "text": {"DataType": "String", "StringValue": "hello"}})
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="a", MessageDeduplicationId="a2")
    ours = PollerClient(endpoint, REGION, connections=2)
    receive = {"QueueUrl": url, "MaxNumberOfMessages": 10, "MessageSystemAttributeNames": ["All"],
               "MessageAttributeNames": ["All"]}

    theirs = sqs.receive_message(**receive)["Messages"]  # visibility 0: the same messages come back
    got = ours.receive_message(**receive)["Messages"]
    assert _norm(got) == _norm(theirs)
    assert got[0]["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xffbytes"

    entries = [{"Id": "0", "ReceiptHandle": got[0]["ReceiptHandle"]}, {"Id": "1", "ReceiptHandle": "not-a-handle"}]
    answer = ours.delete_message_batch(QueueUrl=url, Entries=entries)
    assert [s["Id"] for s in answer["Successful"]] == ["0"]
    assert [(f["Id"], f["SenderFault"]) for f in answer["Failed"]] == [("1", True)]
    assert [m["Body"] for m in sqs.receive_message(**receive)["Messages"]] == ["second"]


def test_a_refusal_carries_boto3s_error_code(endpoint: str) -> None:
    missing = {"QueueUrl": f"{endpoint}/123456789012/missing.fifo", "MaxNumberOfMessages": 1}
    with pytest.raises(ClientError) as theirs:
        boto3.client("sqs", endpoint_url=endpoint, region_name=REGION).receive_message(**missing)
    with pytest.raises(SqsError) as ours:
        PollerClient(endpoint, REGION, connections=1).receive_message(**missing)
    assert ours.value.code == theirs.value.response["Error"]["Code"]
    assert ours.value.status == 400


class _Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next (status, body) of the server's script, and counts them."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body = self.server.script.pop(0)  # type: ignore[attr-defined]
        self.server.seen += 1  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Scripted)
    server.script, server.seen = [], 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_throttled_or_unavailable_answer_is_retried(scripted: HTTPServer) -> None:
    scripted.script += [(400, {"__type": "com.amazonaws.sqs#ThrottlingException", "message": "slow down"}),  # type: ignore[attr-defined]
                        (503, {"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "busy"}),
                        (200, {"Messages": []})]
    client = PollerClient(f"http://127.0.0.1:{scripted.server_port}", REGION, connections=1)
    assert client.receive_message(QueueUrl="q", MaxNumberOfMessages=10) == {"Messages": []}
    assert scripted.seen == 3  # type: ignore[attr-defined]


def test_a_client_error_is_not_retried(scripted: HTTPServer) -> None:
    scripted.script += [(400, {"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": "no"})]  # type: ignore[attr-defined]
    client = PollerClient(f"http://127.0.0.1:{scripted.server_port}", REGION, connections=1)
    with pytest.raises(SqsError, match="InvalidParameterValue .HTTP 400.: no"):
        client.delete_message_batch(QueueUrl="q", Entries=[])
    assert scripted.seen == 1  # type: ignore[attr-defined]
