"""API Gateway (REST) handler: POST /events and GET /accounts/{account_id}/results."""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inorder import aws
from inorder.config import load_settings
from inorder.ingest import IngestService
from inorder.models import ACCOUNT_ID_PATTERN
from inorder.queue_writer import QueueWriter
from inorder.result_store import ResultStore

logger = Logger()
app = APIGatewayRestResolver()


@cache
def _services() -> tuple[IngestService, ResultStore]:
    """Clients and services are built once per container, on first use."""
    settings = load_settings()
    writer = QueueWriter(aws.client("sqs"), settings.queue_url)
    return IngestService(writer), ResultStore(aws.client("dynamodb"), settings.table_name)


@app.post("/events")
def post_events() -> tuple[dict[str, Any], int]:
    event = app.current_event
    try:
        text = event.decoded_body
    except UnicodeDecodeError:
        return {"message": "invalid request; nothing was enqueued",
                "errors": [{"index": None, "field": "body", "message": "the body is not UTF-8 text"}]}, 400
    status, body = _services()[0].accept(text, event.headers.get("content-type"), event.request_context.request_id)
    logger.info("ingest answered", extra={"status": status, "accepted": body.get("accepted")})
    return body, status


@app.get("/accounts/<account_id>/results")
def get_results(account_id: str) -> tuple[dict[str, Any], int]:
    # API Gateway hands over pathParameters URL-decoded; the route's match is on the raw path.
    account_id = (app.current_event.path_parameters or {}).get("account_id", account_id)
    if not re.fullmatch(ACCOUNT_ID_PATTERN, account_id):
        return {"message": f"account_id must match {ACCOUNT_ID_PATTERN}"}, 400
    return {"account_id": account_id, "results": _services()[1].results_for(account_id)}, 200


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
