"""SQS FIFO handler: a batch of up to ten events, groups in parallel, partial batch response."""
from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from inorder import aws
from inorder.codec import decode_record
from inorder.config import Settings, load_settings
from inorder.fifo_batch import FifoBatchRunner, message_groups
from inorder.group_commit import GroupCommit
from inorder.processing import EventProcessor
from inorder.queue_feedback import QueueFeedback
from inorder.result_store import ResultStore

logger = Logger()

# Time kept back when deciding whether a record can still finish: its group's result write and
# early release.
SAFETY_MARGIN_MS = 1000
# Threads a container may keep for its batches' groups (see _services).
GROUP_THREADS = 4096


class Services(NamedTuple):
    settings: Settings
    store: ResultStore
    feedback: QueueFeedback
    pool: Executor  # the threads that run a batch's groups


@cache
def _services() -> Services:
    """Clients, services and the groups' threads are built once per container, on first use.

    Starting a batch's threads anew for every invocation costs more CPU than the batch's own
    work when events are quick; a container's pool keeps them. On Lambda a container runs one
    batch at a time, so it never starts more than a batch's ten; the local cloud runs many
    invocations of one container's code at once, and they share the pool's idle threads.
    """
    settings = load_settings()
    return Services(settings, ResultStore(aws.client("dynamodb"), settings.table_name),
                    QueueFeedback(aws.client("sqs"), settings.queue_url, settings.retry_base_seconds),
                    ThreadPoolExecutor(max_workers=GROUP_THREADS, thread_name_prefix="group"))


def _runner(records: list[dict[str, Any]]) -> FifoBatchRunner:
    """A runner for one batch: its groups share the batch's result writes."""
    settings, store, feedback, pool = _services()
    writes = GroupCommit(store, writers=len(message_groups(records)))
    processor = EventProcessor(writes, settings.processing_seconds, logger)
    return FifoBatchRunner(
        lambda record: processor.process(decode_record(record)),
        logger,
        record_budget_ms=int(settings.processing_seconds * 1000) + SAFETY_MARGIN_MS,
        commit=processor.commit,
        feedback=feedback,
        on_group_done=writes.leave,
        pool=pool,
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    return _runner(event["Records"]).run(event["Records"], context.get_remaining_time_in_millis)
