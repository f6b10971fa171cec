"""The processor with Powertools' ``SqsFifoPartialProcessor`` (``skip_group_on_error=True``) - a baseline.

The best published FIFO consumer: it runs a batch front to back, one record after another, and on
a failure skips the rest of that record's group while the other groups go on. The per-event work is
exactly the template processor's (``EventProcessor`` over ``decode_record``, the same result store
and log of results), so a benchmark that swaps this handler in for ``processor.app.handler``
(``CloudOptions.processor_handler``) measures the batch strategy. One difference comes with it: a
Powertools record handler sees one record and has no hook at the end of a group's run, so each
result is stored as its record finishes, where the template processor stores a group's run at once.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inorder import aws
from inorder.codec import decode_record
from inorder.config import load_settings
from inorder.group_commit import GroupCommit
from inorder.processing import EventProcessor
from inorder.result_store import ResultStore, StoreError

HANDLER = "local.baselines.powertools_processor.handler"

logger = Logger()


@cache
def _processor() -> EventProcessor:
    """One writer, as records run one at a time: each result is stored on its own, at once."""
    settings = load_settings()
    store = GroupCommit(ResultStore(aws.client("dynamodb"), settings.table_name), writers=1)
    return EventProcessor(store, settings.processing_seconds, logger)


def _record_handler(record: SQSRecord) -> None:
    processor = _processor()
    if not processor.commit([processor.process(decode_record(record.raw_event))]):
        raise StoreError(f"result of message {record.message_id} not stored")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_record_handler,
                                    processor=SqsFifoPartialProcessor(skip_group_on_error=True), context=context)
