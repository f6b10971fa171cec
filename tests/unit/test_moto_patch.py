"""Tests for local.moto_patch: most assert something unpatched moto 5.2.5 gets wrong.

``INORDER_MOTO_UNPATCHED=1 python -m pytest --noconftest tests/unit/test_moto_patch.py`` runs
them WITHOUT ``apply()`` (tests/conftest.py applies it too, hence ``--noconftest``): only to
demonstrate that they catch moto's bugs; they are expected to fail then. The long-poll wake-up
tests are the exception: unpatched moto spins instead of waiting, so they pass there; they guard
the patch's own waiting (one poll woken per change) against lost wake-ups.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_patch
from local.backend import start_backend

UNPATCHED = os.environ.get("INORDER_MOTO_UNPATCHED") == "1"
if not UNPATCHED:
    moto_patch.apply()

CFG = Config(max_pool_connections=64, retries={"max_attempts": 1})


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def sqs() -> Any:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1", config=CFG)


def fifo(sqs: Any, name: str = "q.fifo", **attrs: str) -> str:
    a = {"FifoQueue": "true", **attrs}
    return sqs.create_queue(QueueName=name, Attributes=a)["QueueUrl"]


def send(sqs: Any, url: str, body: str, group: str, dedup: str | None = None) -> dict:
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                            MessageDeduplicationId=dedup or body)


def recv(sqs: Any, url: str, n: int = 10, wait: int = 0, vis: int | None = None) -> list:
    kw: dict[str, Any] = {"VisibilityTimeout": vis} if vis is not None else {}
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, WaitTimeSeconds=wait,
                               MessageSystemAttributeNames=["All"], **kw).get("Messages", [])


def test_concurrent_consumers_never_share_a_group() -> None:
    """Regression: 20 consumers on 2,000 messages / 200 groups; AWS FIFO guarantees hold."""
    n_msgs, n_groups, n_threads = 2000, 200, 20
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1", config=CFG)
        url = fifo(sqs, DeduplicationScope="messageGroup",
                   FifoThroughputLimit="perMessageGroupId", VisibilityTimeout="120")
        for b in range(0, n_msgs, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": str(i), "MessageGroupId": f"g{i % n_groups}",
                 "MessageDeduplicationId": str(i)} for i in range(b, b + 10)])
        lock = threading.Lock()
        windows: list[tuple[int, str, float, float, list[int]]] = []  # thread,group,t0,t1
        deleted: list[int] = []
        errors: list[str] = []
        deadline = time.monotonic() + 25

        def consume(tid: int) -> None:
            client = clients[tid]
            while time.monotonic() < deadline:
                with lock:
                    if len(deleted) >= n_msgs:
                        return
                try:
                    msgs = recv(client, url, n=10 if tid % 2 else 3, wait=1)
                    if not msgs:
                        continue
                    # Window start: the server's receive time (+2 ms for its ms truncation),
                    # at most when the call returned; end: just before the delete call.  Both
                    # lie inside the true in-flight window, so windows of one group must never
                    # overlap.
                    first = max(int(x["Attributes"]["ApproximateFirstReceiveTimestamp"])
                                for x in msgs)
                    t0 = min(time.time(), first / 1000 + 0.002)
                    by_group: dict[str, list[int]] = defaultdict(list)
                    for msg in msgs:
                        by_group[msg["Attributes"]["MessageGroupId"]].append(int(msg["Body"]))
                    t1 = time.time()
                    client.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": msg["ReceiptHandle"]}
                        for i, msg in enumerate(msgs)])
                    with lock:
                        for g, bodies in by_group.items():
                            windows.append((tid, g, t0, t1, bodies))
                        deleted.extend(int(msg["Body"]) for msg in msgs)
                except Exception as e:  # noqa: BLE001 - unpatched moto raises in-process
                    with lock:
                        errors.append(repr(e))

        clients = [boto3.client("sqs", region_name="us-east-1", config=CFG)
                   for _ in range(n_threads)]
        threads = [threading.Thread(target=consume, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    overlaps, disorder = 0, []
    per_group: dict[str, list[tuple[float, float, int, list[int]]]] = defaultdict(list)
    for tid, g, t0, t1, bodies in windows:
        per_group[g].append((t0, t1, tid, bodies))
    for g, ws in per_group.items():
        ws.sort()
        overlaps += sum(1 for a, b in zip(ws, ws[1:]) if b[0] < a[1])
        got = [x for w in ws for x in w[3]]
        if got != sorted(got):
            disorder.append(g)
    problems = {
        "errors": errors[:3],
        "group in flight in two consumers at once": overlaps,
        "delivered twice": len(deleted) - len(set(deleted)),
        "groups delivered out of order": len(disorder),
        "lost (not delivered+deleted)": n_msgs - len(set(deleted)),
    }
    assert not any(problems.values()), problems


def test_dedup_survives_delete_within_window(sqs: Any) -> None:
    url = fifo(sqs)
    first = send(sqs, url, "a", "g1", dedup="d1")
    (m,) = recv(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    again = send(sqs, url, "a-again", "g1", dedup="d1")
    assert again["MessageId"] == first["MessageId"]
    assert recv(sqs, url) == []


def test_dedup_scope_message_group(sqs: Any) -> None:
    url = fifo(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    send(sqs, url, "a", "g1", dedup="same")
    send(sqs, url, "b", "g2", dedup="same")  # other group: not a duplicate
    send(sqs, url, "c", "g1", dedup="same")  # same group: duplicate
    assert sorted(m["Body"] for m in recv(sqs, url)) == ["a", "b"]


def test_dlq_after_max_receive_count_keeps_group_order(sqs: Any) -> None:
    dlq = fifo(sqs, "dlq.fifo")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    policy = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    url = fifo(sqs, RedrivePolicy=json.dumps(policy))
    seqs = [int(send(sqs, url, f"m{i}", "g")["SequenceNumber"]) for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5, "SequenceNumber must increase"
    handles = []
    for attempt in (1, 2):
        (m,) = recv(sqs, url, n=1)
        assert (m["Body"], m["Attributes"]["ApproximateReceiveCount"]) == ("m0", str(attempt))
        assert recv(sqs, url, n=10) == [], "group must stay locked while m0 is in flight"
        handles.append(m["ReceiptHandle"])
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                      VisibilityTimeout=0)
    got = recv(sqs, url, n=10)
    assert [m["Body"] for m in got] == ["m1", "m2", "m3", "m4"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    (dead,) = recv(sqs, dlq)
    assert dead["Body"] == "m0"
    assert dead["Attributes"]["MessageGroupId"] == "g"
    assert dead["Attributes"]["MessageDeduplicationId"] == "m0"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])  # moved away: no error


def test_visibility_timeout_expiry_and_change_wake_long_poll(sqs: Any) -> None:
    url = fifo(sqs)
    send(sqs, url, "a1", "g")
    (m,) = recv(sqs, url, vis=1)
    t = time.monotonic()
    (again,) = recv(sqs, url, wait=5, vis=30)
    assert 0.8 < time.monotonic() - t < 1.6
    assert (again["Body"], again["Attributes"]["ApproximateReceiveCount"]) == ("a1", "2")

    def release() -> None:
        time.sleep(0.5)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"],
                                      VisibilityTimeout=0)
        released.append(time.monotonic())

    released: list[float] = []
    threading.Thread(target=release).start()
    (third,) = recv(sqs, url, wait=5)
    assert third["Attributes"]["ApproximateReceiveCount"] == "3"
    assert time.monotonic() - released[0] < 0.3, "long poll not woken by visibility change"


def test_stale_receipt_handle_does_not_delete(sqs: Any) -> None:
    url = fifo(sqs)
    send(sqs, url, "a", "g")
    (old,) = recv(sqs, url, vis=1)
    (new,) = recv(sqs, url, wait=3)
    assert new["ReceiptHandle"] != old["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])  # no error, no-op
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"],
                                  VisibilityTimeout=0)
    (still,) = recv(sqs, url)
    assert still["Body"] == "a"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=still["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=still["ReceiptHandle"])  # again: fine
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="never-issued")


def test_queue_attribute_counts_and_cheap_send_path(sqs: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import Message

    calls = []
    orig = Message.visible
    monkeypatch.setattr(Message, "visible", property(lambda s: calls.append(1) or orig.fget(s)))
    url = fifo(sqs)
    for i in range(30):
        send(sqs, url, f"m{i}", f"g{i % 3}")
    assert calls == [], "send path must not scan the queue (Queue.attributes counts)"
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]

    def counts(u: str) -> list[int]:
        a = sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]
        return [int(a[n]) for n in names]

    got = recv(sqs, url, n=4)
    assert counts(url) == [26, 4, 0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert counts(url) == [26, 3, 0]
    std = sqs.create_queue(QueueName="std")["QueueUrl"]
    sqs.send_message(QueueUrl=std, MessageBody="x")
    sqs.send_message(QueueUrl=std, MessageBody="y", DelaySeconds=60)
    sqs.receive_message(QueueUrl=std, MaxNumberOfMessages=1)
    assert counts(std)[1:] == [1, 1]


def test_version_pin_and_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto
    from moto.sqs.models import Queue

    before = Queue.add_message
    monkeypatch.setattr(moto, "__version__", "5.2.6")
    with pytest.raises(RuntimeError, match="5.2.5"):
        moto_patch.apply()
    assert Queue.add_message is before
    monkeypatch.undo()
    assert moto_patch.is_applied(), "apply() runs at import of this test module"
    moto_patch.apply()  # second call: no-op
    assert Queue.add_message is before


def test_long_poll_wakes_on_send_and_does_not_spin(sqs: Any) -> None:
    url = fifo(sqs)
    send(sqs, url, "a1", "locked")
    send(sqs, url, "a2", "locked")
    recv(sqs, url, n=1, vis=60)  # group "locked" now blocks a2
    # In-process moto waits in this very thread: its CPU time is the poll's, whatever else runs.
    cpu, t = time.thread_time(), time.monotonic()
    assert recv(sqs, url, wait=2) == []
    assert time.monotonic() - t >= 1.9
    assert time.thread_time() - cpu < 0.3, "long poll burns CPU"
    sent: list[float] = []

    def later() -> None:
        time.sleep(0.5)
        send(sqs, url, "b1", "free")
        sent.append(time.monotonic())

    threading.Thread(target=later).start()
    (m,) = recv(sqs, url, wait=5)
    assert m["Body"] == "b1" and time.monotonic() - sent[0] < 0.8  # woken by the send, not a 1 s re-check


def _waiting_polls(sqs: Any, url: str, count: int, n: int, wait: int = 3) -> tuple[list[threading.Thread], list[list]]:
    """Start ``count`` long polls of ``n`` messages on ``url``; return the threads and what each got."""
    got: list[list] = [[] for _ in range(count)]
    polls = [threading.Thread(target=lambda i=i: got[i].extend(recv(sqs, url, n=n, wait=wait)))
             for i in range(count)]
    for poll in polls:
        poll.start()
    time.sleep(0.3)  # all of them waiting
    return polls, got


@pytest.mark.skipif(UNPATCHED, reason="counts the patch's own receive attempts")
def test_a_call_wakes_one_waiting_poll_not_all(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fifo(sqs)
    attempts: list[int] = []
    original = moto_patch._fifo_receive
    monkeypatch.setattr(moto_patch, "_fifo_receive", lambda *a: (attempts.append(1), original(*a))[1])
    polls, got = _waiting_polls(sqs, url, count=6, n=10)
    assert len(attempts) == 6  # each looked once, found nothing, and waits
    entries = [{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": f"g{i}", "MessageDeduplicationId": f"m{i}"}
               for i in range(10)]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    time.sleep(0.3)
    assert len(attempts) == 7, "a batch of ten wakes one poll, which takes all ten"
    (taken,) = [g for g in got if g]
    assert len(taken) == 10
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(taken)])
    time.sleep(0.3)
    assert len(attempts) == 8, "a batch delete wakes one poll, once"
    for poll in polls:
        poll.join()


def test_what_a_receive_leaves_wakes_the_next_poll(sqs: Any) -> None:
    url = fifo(sqs)
    polls, got = _waiting_polls(sqs, url, count=3, n=1)
    sent = time.monotonic()
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": f"g{i}", "MessageDeduplicationId": f"m{i}"}
        for i in range(3)])
    for poll in polls:
        poll.join()
    assert time.monotonic() - sent < 1.0, "each poll took one message as soon as it was sent"
    assert sorted(m["Body"] for g in got for m in g) == ["m0", "m1", "m2"]


def test_a_shorter_visibility_timeout_shortens_a_waiting_poll(sqs: Any) -> None:
    url = fifo(sqs)
    send(sqs, url, "a1", "g")
    (m,) = recv(sqs, url, vis=60)
    polls, got = _waiting_polls(sqs, url, count=1, n=1, wait=5)
    changed = time.monotonic()
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=1)
    polls[0].join()
    assert [m["Body"] for m in got[0]] == ["a1"]
    assert 0.8 < time.monotonic() - changed < 2, "received when visible again, not at the poll's deadline"


def test_a_long_poll_is_woken_by_a_batch_send(sqs: Any) -> None:
    url = fifo(sqs)
    sent: list[float] = []

    def later() -> None:
        time.sleep(0.5)
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "0", "MessageBody": "b", "MessageGroupId": "g",
                                                       "MessageDeduplicationId": "b"}])
        sent.append(time.monotonic())

    threading.Thread(target=later).start()
    (m,) = recv(sqs, url, wait=5)
    assert m["Body"] == "b" and time.monotonic() - sent[0] < 0.8


def test_backend_server_process(tmp_path: Path) -> None:
    log = tmp_path / "backend.log"
    args = ["--no-patch"] if UNPATCHED else []
    with start_backend(log_path=log, extra_args=args) as backend:
        assert backend.endpoint_url.startswith("http://127.0.0.1:")
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=backend.endpoint_url)
        url = fifo(sqs)
        res = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": str(i), "MessageGroupId": f"g{i % 2}",
             "MessageDeduplicationId": str(i)} for i in range(6)])
        seqs = [int(e["SequenceNumber"]) for e in res["Successful"]]
        assert seqs == sorted(seqs)
        got = recv(sqs, url, n=10)
        assert [m["Body"] for m in got] == ["0", "2", "4", "1", "3", "5"]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        proc = backend.process
    assert proc.poll() is not None
    assert log.read_text().startswith("READY http://127.0.0.1:")
