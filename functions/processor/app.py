"""SQS FIFO handler: a batch of up to ten events, groups in parallel, partial batch response."""
from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from inorder import aws
from inorder.codec import decode_record
from inorder.config import load_settings
from inorder.fifo_batch import FifoBatchRunner
from inorder.processing import EventProcessor
from inorder.queue_feedback import QueueFeedback
from inorder.result_store import ResultStore

logger = Logger()

# Time kept back when deciding whether a record can still finish: its result write and the
# early release of its group.
SAFETY_MARGIN_MS = 1000


@cache
def _runner() -> FifoBatchRunner:
    """Clients and services are built once per container, on first use."""
    settings = load_settings()
    store = ResultStore(aws.client("dynamodb"), settings.table_name)
    processor = EventProcessor(store, settings.processing_seconds, logger)
    return FifoBatchRunner(
        lambda record: processor.process(decode_record(record)),
        logger,
        record_budget_ms=int(settings.processing_seconds * 1000) + SAFETY_MARGIN_MS,
        feedback=QueueFeedback(aws.client("sqs"), settings.queue_url, settings.retry_base_seconds),
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    return _runner().run(event["Records"], context.get_remaining_time_in_millis)
