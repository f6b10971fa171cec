"""Benchmark the local backend: FIFO send/drain rates vs depth, DynamoDB put_item rate.

``python -m local.bench_backend [--depth 50000] [--groups 5000] [--threads 8]``
starts ``local.backend_server`` via ``start_backend()`` (patched moto) and prints figures.

``--no-patch`` measures the unpatched moto SQS for comparison.  Filling an unpatched queue
through the API is quadratic (hours for 10k), so that mode runs moto in-process, puts the
``--depth`` messages straight into the queue's list, then times a few SendMessageBatch calls and
8 threads of receive+delete for ``--seconds``.  ``--in-process`` runs that same harness on
the patched moto, for a like-for-like ratio.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

CFG = Config(max_pool_connections=64, retries={"max_attempts": 2})
REGION = "us-east-1"


def _entries(start: int, n: int, groups: int) -> list[dict[str, str]]:
    return [{"Id": str(i - start), "MessageBody": f"msg-{i}", "MessageGroupId": f"acct-{i % groups}",
             "MessageDeduplicationId": f"d-{i}"} for i in range(start, start + n)]


def _queues(sqs: Any) -> str:
    dlq = sqs.create_queue(QueueName="bench-dlq.fifo", Attributes={"FifoQueue": "true"})
    arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
    redrive = f'{{"deadLetterTargetArn":"{arn["Attributes"]["QueueArn"]}","maxReceiveCount":5}}'
    return sqs.create_queue(QueueName="bench.fifo", Attributes={
        "FifoQueue": "true", "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId", "VisibilityTimeout": "60",
        "RedrivePolicy": redrive})["QueueUrl"]


def bench_send(sqs: Any, url: str, depth: int, groups: int) -> None:
    marks = {m for m in (1_000, 10_000, 50_000, depth) if m <= depth}
    t_block, n_block = time.perf_counter(), 0
    for start in range(0, depth, 10):  # rate over the last <=100 calls before each mark
        sqs.send_message_batch(QueueUrl=url, Entries=_entries(start, 10, groups))
        n_block += 1
        if n_block == 100 or start + 10 in marks:
            rate = n_block / (time.perf_counter() - t_block)
            if start + 10 in marks:
                print(f"  SendMessageBatch(10) at depth {start + 10:>6}: {rate:8.1f} calls/s "
                      f"({rate * 10:,.0f} msg/s)", flush=True)
            t_block, n_block = time.perf_counter(), 0


def bench_drain(make_client: Callable[[], Any], url: str, depth: int, threads: int,
                seconds: float | None = None) -> list[tuple[float, int]]:
    """threads x (receive 10 + delete_message_batch); returns (time, deleted) samples."""
    lock, samples, seen, errors = threading.Lock(), [(time.perf_counter(), 0)], set(), []
    stop_at = time.perf_counter() + seconds if seconds else float("inf")

    def worker(client: Any) -> None:
        while time.perf_counter() < stop_at:
            with lock:
                if len(seen) >= depth:
                    return
            try:
                msgs = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=1).get("Messages", [])
                if msgs:
                    client.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(msgs)])
            except Exception as e:  # noqa: BLE001 - unpatched moto breaks under threads
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                seen.update(m["Body"] for m in msgs)
                samples.append((time.perf_counter(), len(seen)))

    clients = [make_client() for _ in range(threads)]
    ts = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print(f"  {len(errors)} errors, e.g. {errors[0][:200]}")
    return samples


def _rate(samples: list[tuple[float, int]], lo: int, hi: int) -> float:
    """msg/s while the number deleted went from lo to hi."""
    pts = [s for s in samples if lo <= s[1] <= hi]
    if len(pts) < 2 or pts[-1][0] == pts[0][0]:
        return float("nan")
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def bench_dynamodb(make_client: Callable[[], Any], threads: int, per_thread: int) -> float:
    ddb = make_client()
    ddb.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"},
                                {"AttributeName": "seq", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"},
                                           {"AttributeName": "seq", "AttributeType": "N"}])

    def worker(client: Any, tid: int) -> None:
        for i in range(per_thread):
            client.put_item(TableName="bench", Item={
                "account_id": {"S": f"acct-{(tid * per_thread + i) % 1000}"},
                "seq": {"N": str(i)}, "payload": {"S": uuid.uuid4().hex}})

    clients = [make_client() for _ in range(threads)]
    ts = [threading.Thread(target=worker, args=(c, i)) for i, c in enumerate(clients)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return threads * per_thread / (time.perf_counter() - t0)


def run_server(args: argparse.Namespace) -> None:
    from local.backend import start_backend

    with start_backend() as backend:
        def client(service: str) -> Callable[[], Any]:
            return lambda: boto3.client(service, region_name=REGION, config=CFG,
                                        endpoint_url=backend.endpoint_url)

        sqs = client("sqs")()
        url = _queues(sqs)
        print(f"backend {backend.endpoint_url} (patched moto), FIFO queue, "
              f"{args.groups} groups, depth 0 -> {args.depth}", flush=True)
        t0 = time.perf_counter()
        bench_send(sqs, url, args.depth, args.groups)
        print(f"  filled in {time.perf_counter() - t0:.1f} s", flush=True)
        t0 = time.perf_counter()
        samples = bench_drain(client("sqs"), url, args.depth, args.threads)
        d = args.depth
        print(f"drain with {args.threads} threads x receive(10)+delete_message_batch: "
              f"{samples[-1][1]} msgs in {time.perf_counter() - t0:.1f} s", flush=True)
        for label, lo, hi in ((f"{d}", 0, min(5000, d // 5)),
                              ("10000", d - 12000, d - 8000), ("~0", d - 5000, d)):
            if lo >= 0:
                print(f"  drain rate at depth {label:>6}: {_rate(samples, lo, hi):8.1f} msg/s")
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        print(f"  left: {attrs['ApproximateNumberOfMessages']} visible, "
              f"{attrs['ApproximateNumberOfMessagesNotVisible']} in flight")
        rate = bench_dynamodb(client("dynamodb"), args.threads, args.ddb_items // args.threads)
        print(f"DynamoDB put_item from {args.threads} threads: {rate:8.1f} items/s", flush=True)


def run_in_process(args: argparse.Namespace, patched: bool) -> None:
    """Same queue, filled directly (unpatched fill through the API is quadratic)."""
    from moto import mock_aws
    from moto.sqs.models import Message, sqs_backends

    if patched:
        from local import moto_patch

        moto_patch.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION, config=CFG)
        url = _queues(sqs)
        queue = sqs_backends["123456789012"][REGION].get_queue("bench.fifo")
        t0 = time.perf_counter()
        for e in _entries(0, args.depth, args.groups):
            msg = Message(str(uuid.uuid4()), e["MessageBody"])
            msg.group_id, msg.deduplication_id = e["MessageGroupId"], e["MessageDeduplicationId"]
            msg.mark_sent()
            queue.add_message(msg) if patched else queue._messages.append(msg)
        print(f"in-process moto ({'patched' if patched else 'UNPATCHED'}), filled "
              f"{args.depth} msgs directly in {time.perf_counter() - t0:.1f} s", flush=True)
        n, t0 = 3, time.perf_counter()
        for k in range(n):
            sqs.send_message_batch(QueueUrl=url, Entries=_entries(args.depth + 10 * k, 10,
                                                                  args.groups))
        rate = n / (time.perf_counter() - t0)
        print(f"  SendMessageBatch(10) at depth {args.depth}: {rate:8.2f} calls/s", flush=True)
        samples = bench_drain(lambda: boto3.client("sqs", region_name=REGION, config=CFG),
                              url, args.depth, args.threads, seconds=args.seconds)
        dt = samples[-1][0] - samples[0][0]
        print(f"  drain {args.threads} threads at depth ~{args.depth}: {samples[-1][1]} msgs "
              f"in {dt:.1f} s = {samples[-1][1] / max(dt, 1e-9):8.1f} msg/s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depth", type=int, default=50_000)
    ap.add_argument("--groups", type=int, default=5_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--ddb-items", type=int, default=4_000)
    ap.add_argument("--no-patch", action="store_true", help="unpatched moto, in-process")
    ap.add_argument("--in-process", action="store_true", help="patched moto, in-process")
    ap.add_argument("--seconds", type=float, default=30.0, help="in-process drain duration")
    args = ap.parse_args()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        os.environ[k] = v
    if args.no_patch or args.in_process:
        run_in_process(args, patched=args.in_process)
    else:
        run_server(args)


if __name__ == "__main__":
    main()
