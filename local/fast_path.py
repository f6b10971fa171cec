"""Serve inorder's hot SQS / DynamoDB calls straight from moto's backend models.

Why: through moto's WSGI app every request costs ~1 ms of server CPU (Flask routing,
``BaseResponse.dispatch``/``setup_class``, botocore-model request parsing, the
``ResponseSerializer``), almost none of it in the models.  On a 2-core machine that overhead is
what bounds the demo.  ``FastPath`` recognises the few JSON-protocol calls the pipeline makes per
event, calls the *same* backend methods moto's ``responses.py`` would (so ``local.moto_patch``'s
lock and FIFO indexes still apply) and writes the same JSON moto would.

Anything it is not sure about goes to the wrapped app unchanged: other targets or content types,
non-SigV4 or non-local hosts, IAM-known access keys, auth/recording/pretty-printing enabled,
message attributes on send, PutItem options other than a condition expression, binary values,
PartiQL other than the parameterised INSERTs ``local.moto_dynamodb`` serves.
Errors raised by the backend are rendered by moto's own error serialisers.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto import settings
from moto.core.exceptions import ServiceException
from moto.core.responses import BaseResponse
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.comparisons import create_condition_expression_parser
from moto.dynamodb.models import dynamodb_backends
from moto.iam.models import iam_backends
from moto.moto_api import recorder
from moto.sqs import exceptions as sqs_exc
from moto.sqs.constants import DEFAULT_RECEIVED_MESSAGES, MAXIMUM_VISIBILITY_TIMEOUT
from moto.sqs.models import sqs_backends
from moto.utilities.utils import PARTITION_NAMES
from werkzeug.exceptions import HTTPException

from local import moto_dynamodb

JSON_10 = "application/x-amz-json-1.0"
DEFAULT_ACCOUNT = "123456789012"
Response = tuple[int, list[tuple[str, str]], bytes]
_SYSTEM_ATTRS = ("SenderId", "SentTimestamp", "ApproximateReceiveCount",
                 "ApproximateFirstReceiveTimestamp", "MessageDeduplicationId", "MessageGroupId",
                 "AWSTraceHeader", "SequenceNumber")
_ALWAYS_STR = {"SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}
_PUT_KEYS = {"TableName", "Item", "ConditionExpression", "ExpressionAttributeNames",
             "ReturnValues", "ReturnConsumedCapacity"}


class _Fallthrough(Exception):
    """The request is not one the fast path is sure about: moto's app must serve it."""


class FastPath:
    """WSGI middleware: hot JSON-protocol SQS/DynamoDB operations bypass moto's framework."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.sqs_ops: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
            "ReceiveMessage": self._receive, "DeleteMessageBatch": self._delete_batch,
            "DeleteMessage": self._delete, "SendMessageBatch": self._send_batch,
            "SendMessage": self._send, "GetQueueAttributes": self._get_attributes,
            "ChangeMessageVisibilityBatch": self._change_visibility_batch}
        self._valid_conditions: set[str] = set()  # validated (no names/values) expressions

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if (environ.get("REQUEST_METHOD") != "POST" or "." not in target
                or not environ.get("CONTENT_TYPE", "").startswith(JSON_10)
                or environ.get("HTTP_CONTENT_ENCODING") or not self._enabled()):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            status, headers, out = self._serve(environ, target, body)
        except _Fallthrough:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        headers += [("Content-Length", str(len(out))), ("server", "amazon.com"),
                    ("Access-Control-Allow-Origin", "*"),
                    ("x-amzn-requestid", _request_id())]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [out]

    @staticmethod
    def _enabled() -> bool:
        """moto features that hook into every request (IAM auth, recording, pretty JSON)."""
        return (settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf")
                and not recorder._user_enabled and not settings.PRETTIFY_RESPONSES)

    def _serve(self, environ: dict[str, Any], target: str, body: bytes) -> Response:
        prefix, op = target.split(".", 1)
        service = {"AmazonSQS": "sqs", "DynamoDB_20120810": "dynamodb"}.get(prefix)
        if service is None or (service == "sqs" and op not in self.sqs_ops) or (
                service == "dynamodb" and op not in ("PutItem", "BatchExecuteStatement")):
            raise _Fallthrough
        account, region = _account_region(environ, service)
        try:
            params = json.loads(body)
        except ValueError:
            raise _Fallthrough from None
        if not isinstance(params, dict):
            raise _Fallthrough
        if service == "dynamodb" and op == "BatchExecuteStatement":
            return self._batch_insert(dynamodb_backends[account][region], params, body)
        if service == "dynamodb":
            return self._put_item(dynamodb_backends[account][region], params, body)
        backend = sqs_backends[account][region]
        try:
            result = self.sqs_ops[op](backend, params)
        except ServiceException as error:
            svc = get_service_model("sqs")
            serializer = get_serializer_class("sqs", "json")(
                operation_model=svc.operation_model(op), value_picker=XFormedAttributePicker())
            resp = serializer.serialize(error)
            return (resp["status_code"], [(k, str(v)) for k, v in resp["headers"].items()]
                    + [("status", str(resp["status_code"]))], resp["body"].encode())
        return 200, [("Content-Type", JSON_10)], json.dumps(result).encode()

    # --- SQS: each mirrors moto.sqs.responses.SQSResponse.<op> -----------------------------

    @staticmethod
    def _receive(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        name = _queue_name(p)
        system_names = set(p.get("AttributeNames", []) + p.get("MessageSystemAttributeNames", []))
        queue = backend.get_queue(name)
        count = _int(p.get("MaxNumberOfMessages", DEFAULT_RECEIVED_MESSAGES))
        if count < 1 or count > 10:
            raise sqs_exc.SQSException(
                "InvalidParameterValue", "An error occurred (InvalidParameterValue) when calling "
                f"the ReceiveMessage operation: Value {count} for parameter MaxNumberOfMessages "
                "is invalid. Reason: must be between 1 and 10, if provided.")
        wait = p.get("WaitTimeSeconds")
        wait = int(queue.receive_message_wait_time_seconds) if wait is None else _int(wait)
        if wait < 0 or wait > 20:
            raise sqs_exc.SQSException(
                "InvalidParameterValue", "An error occurred (InvalidParameterValue) when calling "
                f"the ReceiveMessage operation: Value {wait} for parameter WaitTimeSeconds is "
                "invalid. Reason: must be &lt;= 0 and &gt;= 20 if provided.")
        vis = p.get("VisibilityTimeout")
        vis = queue.visibility_timeout if vis is None else _int(vis)
        if vis > MAXIMUM_VISIBILITY_TIMEOUT:
            raise sqs_exc.MaxVisibilityTimeout()
        messages = backend.receive_message(name, count, wait, vis,
                                           p.get("MessageAttributeNames", []))
        wanted = [a for a in _SYSTEM_ATTRS if "All" in system_names or a in system_names]
        out = []
        for msg in messages:
            entry: dict[str, Any] = {"MessageId": msg.id, "ReceiptHandle": msg.receipt_handle,
                                     "MD5OfBody": msg.body_md5, "Body": msg.body}
            if wanted:
                entry["Attributes"] = {a: v for a in wanted
                                       if (v := _system_attribute(msg, a)) is not None}
            if msg.message_attributes:
                entry["MD5OfMessageAttributes"] = msg.attribute_md5
                entry["MessageAttributes"] = {k: _b64(v) for k, v in msg.message_attributes.items()}
            out.append(entry)
        return {"Messages": out} if out else {}

    @staticmethod
    def _delete(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        backend.delete_message(_queue_name(p), _str(p.get("ReceiptHandle")))
        return {}

    @staticmethod
    def _delete_batch(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        name, entries = _queue_name(p), p.get("Entries", [])
        if not entries:
            raise sqs_exc.EmptyBatchRequest(action="Delete")
        seen: set[str] = set()
        for entry in entries:
            if entry["ReceiptHandle"] in seen:
                raise sqs_exc.BatchEntryIdsNotDistinct(entry["Id"])
            seen.add(entry["ReceiptHandle"])
        success, failed = backend.delete_message_batch(name, entries)
        return {"Successful": [{"Id": i} for i in success], "Failed": failed}

    @staticmethod
    def _change_visibility_batch(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        success, failed = backend.change_message_visibility_batch(_queue_name(p),
                                                                  p.get("Entries", []))
        return {"Successful": [{"Id": i} for i in success], "Failed": failed}

    @staticmethod
    def _send(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        if "MessageAttributes" in p or "MessageSystemAttributes" in p:
            raise _Fallthrough
        name = _queue_name(p)
        queue = backend.get_queue(name)
        msg = backend.send_message(name, p.get("MessageBody"), message_attributes={},
                                   delay_seconds=p.get("DelaySeconds"),
                                   deduplication_id=p.get("MessageDeduplicationId"),
                                   group_id=p.get("MessageGroupId"), system_attributes=None)
        out = {"MD5OfMessageBody": msg.body_md5, "MessageId": msg.id}
        if queue.fifo_queue and msg.sequence_number:
            out["SequenceNumber"] = msg.sequence_number
        return out

    @staticmethod
    def _send_batch(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("Entries", [])
        if any("MessageAttributes" in e or "MessageSystemAttributes" in e for e in raw):
            raise _Fallthrough
        name = _queue_name(p)
        queue = backend.get_queue(name)
        entries = {str(i): {**e, "MessageAttributes": {}, "DelaySeconds": e.get("DelaySeconds")}
                   for i, e in enumerate(raw)}
        if not entries:
            raise sqs_exc.EmptyBatchRequest()
        messages, failed = backend.send_message_batch(name, entries)
        ok = []
        for msg in messages:
            item = {"Id": msg.user_id, "MessageId": msg.id, "MD5OfMessageBody": msg.body_md5}
            if queue.fifo_queue:
                item["SequenceNumber"] = msg.sequence_number
            ok.append(item)
        return {"Successful": ok, "Failed": failed}

    @staticmethod
    def _get_attributes(backend: Any, p: dict[str, Any]) -> dict[str, Any]:
        names = p.get("AttributeNames", [])
        if names and "" in names:
            raise sqs_exc.InvalidAttributeName("")
        attributes = backend.get_queue_attributes(_queue_name(p), names)
        out = {k: str(v) for k, v in attributes.items() if v is not None}
        return {"Attributes": out} if out else {}

    # --- DynamoDB PutItem: mirrors moto.dynamodb.responses.DynamoHandler.put_item ----------

    def _put_item(self, backend: Any, p: dict[str, Any], body: bytes) -> Response:
        if (not p.keys() <= _PUT_KEYS or p.get("ReturnValues", "NONE") != "NONE"
                or p.get("ReturnConsumedCapacity", "NONE") != "NONE"
                or b'"B"' in body or b'"BS"' in body):  # (blobs: moto's parser decodes them)
            raise _Fallthrough
        name, item, cond = p["TableName"], p["Item"], p.get("ConditionExpression")
        names = p.get("ExpressionAttributeNames", {})
        try:
            table = backend.get_table(name)
            ddb_responses.validate_put_has_empty_keys(item, table)
            ddb_responses.validate_put_has_empty_attrs(item, table)
            ddb_responses.validate_put_has_gsi_keys_set_to_none(item, table)
            if names or cond not in self._valid_conditions:
                parser = create_condition_expression_parser(cond, names, {})
                parser.parse()
                ddb_responses.validate_attributes_used(names, parser.expr_attr_names_found)
                if not names and cond:
                    self._valid_conditions.add(cond)
            backend.put_item(name, item, None, cond, names, {}, not cond, None)
            status, headers, out = 200, [("Content-Type", JSON_10)], "{}"
        except HTTPException as error:  # moto's DynamoDB errors are JsonRESTErrors
            status, out = error.code or 400, error.get_body()
            headers = [(k, v) for k, v in error.get_headers()] + [("status", str(status))]
        data = out.encode()
        return status, headers + [("x-amz-crc32", str(binascii.crc32(data)))], data


    # --- DynamoDB BatchExecuteStatement of parameterised INSERTs (local.moto_dynamodb) -------

    @staticmethod
    def _batch_insert(backend: Any, p: dict[str, Any], body: bytes) -> Response:
        statements = p.get("Statements")
        if (p.keys() != {"Statements"} or not isinstance(statements, list) or not 1 <= len(statements) <= 25
                or b'"B"' in body or b'"BS"' in body):
            raise _Fallthrough
        responses = moto_dynamodb.batch_insert(backend, statements)
        if responses is None:
            raise _Fallthrough
        data = json.dumps({"Responses": responses}).encode()
        return 200, [("Content-Type", JSON_10), ("x-amz-crc32", str(binascii.crc32(data)))], data


def _account_region(environ: dict[str, Any], service: str) -> tuple[str, str]:
    """Account and region the way ``BaseResponse`` finds them (SigV4 scope, else fall through)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        _, _, region, scope_service, _ = auth.split(",")[0].split()[1].split("/")
    except (IndexError, ValueError):
        raise _Fallthrough from None
    if (not auth.startswith("AWS4") or scope_service != service
            or "amazonaws.com" in environ.get("HTTP_HOST", "")):
        raise _Fallthrough
    ua = BaseResponse.region_from_useragent_regex.search(environ.get("HTTP_USER_AGENT", ""))
    region = ua.group(1) if ua else region
    match = BaseResponse.access_key_regex.search(auth)
    key = match.group(1) if match else "AKIAEXAMPLE"
    for account in list(iam_backends.values()):  # an IAM key: moto tracks its use, let it
        if any(key in account[part].access_keys for part in PARTITION_NAMES):
            raise _Fallthrough
    account_id = (os.environ.get("MOTO_ACCOUNT_ID")
                  or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT)
    return account_id, region


def _request_id() -> str:
    """52 alphanumerics like moto's ``gen_amzn_requestid_long``, at a tenth of its cost."""
    return base64.b64encode(os.urandom(39), altchars=b"xZ").decode()


def _queue_name(p: dict[str, Any]) -> str:
    url = p.get("QueueUrl")
    if not isinstance(url, str):
        raise _Fallthrough
    return url.split("/")[-1] if url.startswith(("http://", "https://")) else url


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Fallthrough
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Fallthrough
    return value


def _system_attribute(msg: Any, name: str) -> str | None:
    """One entry of a received message's ``Attributes``, as SQSResponse.receive_message."""
    if name == "AWSTraceHeader":
        header = (msg.system_attributes or {}).get("AWSTraceHeader")
        return header.get("StringValue") if header else None
    value = {"SenderId": msg.sender_id, "SentTimestamp": msg.sent_timestamp,
             "ApproximateReceiveCount": msg.approximate_receive_count,
             "ApproximateFirstReceiveTimestamp": msg.approximate_first_receive_timestamp,
             "MessageDeduplicationId": msg.deduplication_id, "MessageGroupId": msg.group_id,
             "SequenceNumber": msg.sequence_number}[name]
    return str(value) if value is not None or name in _ALWAYS_STR else None


def _b64(value: dict[str, Any]) -> dict[str, Any]:
    """A stored message attribute as the JSON serialiser writes it (blobs in base64)."""
    enc = (lambda b: base64.b64encode(b if isinstance(b, bytes) else b.encode()).decode())
    out = dict(value)
    if "BinaryValue" in out:
        out["BinaryValue"] = enc(out["BinaryValue"])
    if "BinaryListValues" in out:
        out["BinaryListValues"] = [enc(b) for b in out["BinaryListValues"]]
    return out
