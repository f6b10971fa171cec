"""The event source mapping's SQS client: the two calls Lambda's pollers make, without botocore.

Why: on AWS the pollers are Lambda's machines, not the function's. Locally they share two cores
with the function, and botocore spends ~1.6 ms of CPU on each ReceiveMessage or
DeleteMessageBatch (request serialisation, event hooks, response parsing), four times what this
client does for the same call. That CPU was taken from the invocations the poller feeds.

What: SQS's JSON protocol (``X-Amz-Target: AmazonSQS.<Action>``), SigV4-signed with the
credentials boto3 would use, over urllib3's keep-alive pool. Answers come back in boto3's shape
(binary message attributes as bytes), so the mapping works with this or a boto3 client alike.
The pool is bounded and blocking: a call waits for a free connection rather than opening one.
The functions themselves keep boto3: this serves only the emulator's own calls.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import boto3
import urllib3

SERVICE = "sqs"
CONTENT_TYPE = "application/x-amz-json-1.0"
ATTEMPTS = 3
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
RETRYABLE_CODES = frozenset({"ThrottlingException", "RequestThrottled", "ServiceUnavailable", "InternalError"})


class SqsError(RuntimeError):
    """SQS refused the call; ``code`` is the error code boto3 would put in ``Error.Code``."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"{code} (HTTP {status}): {message}")
        self.code = code
        self.status = status


class PollerClient:
    def __init__(self, endpoint_url: str, region: str, connections: int, timeout_s: float = 30.0):
        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials for the event source mapping's SQS client")
        self._credentials = credentials.get_frozen_credentials()
        parts = urlsplit(endpoint_url)
        self._host = parts.netloc
        self._path = parts.path or "/"
        self._region = region
        self._timeout = timeout_s
        self._keys: dict[str, bytes] = {}
        self._pool = urllib3.connection_from_url(
            endpoint_url, maxsize=connections, block=True, timeout=urllib3.Timeout(connect=5, read=timeout_s),
            retries=urllib3.Retry(total=ATTEMPTS - 1, status=0, redirect=0, allowed_methods=None))

    def receive_message(self, **params: Any) -> dict[str, Any]:
        answer = self.call("ReceiveMessage", params)
        for message in answer.get("Messages", []):
            for value in message.get("MessageAttributes", {}).values():
                _decode_binary(value)
        return answer

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self.call("DeleteMessageBatch", params)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """One call; urllib3 retries a dropped connection, this a throttled or 5xx answer (as botocore would)."""
        body = json.dumps(params).encode()
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2 ** attempt)
            response = self._pool.urlopen("POST", self._path, body=body, headers=self.headers(action, body),
                                          preload_content=True, assert_same_host=False, pool_timeout=self._timeout)
            answer = _json(response.data)
            if response.status == 200:
                return answer
            error = SqsError(_error_code(response, answer), answer.get("message") or answer.get("Message", ""),
                             response.status)
            if response.status not in RETRYABLE_STATUS and error.code not in RETRYABLE_CODES:
                raise error
        raise error

    def headers(self, action: str, body: bytes, now: float | None = None) -> dict[str, str]:
        """The request's headers, signed with SigV4 as botocore's ``SigV4Auth`` signs them."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        headers = {"Content-Type": CONTENT_TYPE, "Host": self._host, "X-Amz-Date": stamp,
                   "X-Amz-Target": f"AmazonSQS.{action}"}
        if self._credentials.token:
            headers["X-Amz-Security-Token"] = self._credentials.token
        names = sorted(name.lower() for name in headers)
        values = {name.lower(): value.strip() for name, value in headers.items()}
        signed = ";".join(names)
        canonical = "\n".join(["POST", self._path, "", *(f"{n}:{values[n]}" for n in names), "", signed,
                               hashlib.sha256(body).hexdigest()])
        scope = f"{stamp[:8]}/{self._region}/{SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(stamp[:8]), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self._credentials.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        return headers

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = f"AWS4{self._credentials.secret_key}".encode()
            for part in (day, self._region, SERVICE, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}
        return key


def _json(data: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(data or b"{}")
    except ValueError:
        return {"message": data.decode(errors="replace")[:500]}
    return answer if isinstance(answer, dict) else {"message": str(answer)}


def _error_code(response: Any, answer: dict[str, Any]) -> str:
    """The code boto3 reports: the query-compatible one when SQS sends it, else ``__type``'s name."""
    query = response.headers.get("x-amzn-query-error", "")
    if query:
        return query.split(";", 1)[0]
    return str(answer.get("__type", f"HTTP{response.status}")).rsplit("#", 1)[-1]


def _decode_binary(value: dict[str, Any]) -> None:
    if "BinaryValue" in value:
        value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
    if "BinaryListValues" in value:
        value["BinaryListValues"] = [base64.b64decode(b) for b in value["BinaryListValues"]]
