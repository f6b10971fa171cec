"""Nothing lost, nothing reordered, whatever fails: each fault of the Guarantees table, end to end.

The local cloud runs with short timings (processing, retry back-off, and - where a test needs
redelivery after a crash - a queue visibility timeout the test sets itself); the mechanisms are
the ones that run with the template's values.
"""
from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from local import generator, outcome
from local.cloud import CloudOptions, LocalCloud
from local.faults import FaultPlan
from local.redrive import redrive
from local.report import RunInput, build_report

FAST = {"RetryBaseSeconds": "0.2"}


def cloud(tmp_path: Path, faults: FaultPlan | None = None, in_process: bool = True,
          processing_seconds: float = 0.02) -> LocalCloud:
    return LocalCloud(CloudOptions(processing_seconds=processing_seconds, parameters=FAST, log_dir=tmp_path / "logs",
                                   consumer_in_process=in_process, faults=faults or FaultPlan()))


def post(c: LocalCloud, events: list[dict[str, Any]]) -> tuple[int, Any]:
    info = c.info()
    client = generator.ApiClient(info["api_url"], info["api_key"])
    try:
        return client.request("POST", "/events", {"events": events})
    finally:
        client.close()


def events_of(spec: dict[str, int]) -> list[dict[str, Any]]:
    """Events in the order a client sends them: each account's seqs 1..n, accounts interleaved."""
    out = []
    for seq in range(1, max(spec.values()) + 1):
        out += [{"account_id": a, "seq": seq, "type": "t"} for a, n in spec.items() if seq <= n]
    return out


def report(c: LocalCloud, events: list[dict[str, Any]], started: float, timeout: float = 60) -> dict[str, Any]:
    info = c.info()
    sqs, dynamodb = boto3.client("sqs", endpoint_url=info["endpoint_url"]), boto3.client(
        "dynamodb", endpoint_url=info["endpoint_url"])
    intended = {(e["account_id"], e["seq"]): 0.0 for e in events}
    assert outcome.wait_for_drain(sqs, info["queue_url"], len(intended), timeout, started, out=_Null())
    results = outcome.scan_results(dynamodb, info["table_name"], {a for a, _ in intended})
    return build_report(RunInput(started, 0.02, intended, results, outcome.peek_dlq(sqs, info["dlq_url"]),
                                 outcome.log_counts(c.results_log)))


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def healthy(r: dict[str, Any]) -> bool:
    return r["lost"] == r["duplicates"] == r["order_violations"] == 0


def test_transient_failures_heal_every_event_once_in_order(tmp_path: Path) -> None:
    events = events_of({f"t{i}": 6 for i in range(20)})
    with cloud(tmp_path, FaultPlan(fail_rate=0.2, seed=1)) as c:
        started = time.time()
        assert post(c, events)[0] == 202
        r = report(c, events, started)
    assert healthy(r) and r["processed"] + r["dlq"] == r["accepted"] == 120
    assert r["retries"] > 0


def test_a_poison_event_goes_to_the_dlq_its_account_moves_on_and_redrive_brings_it_back(tmp_path: Path) -> None:
    plan = FaultPlan(poison={("p", 2)})
    first = events_of({"p": 2, "q": 3})
    with cloud(tmp_path, plan) as c:
        started = time.time()
        assert post(c, first)[0] == 202
        r = report(c, first, started)
        assert r["dlq_events"] == [{"account_id": "p", "seq": 2, "later_processed": 0}]
        assert (r["processed"], r["lost"], r["order_violations"]) == (4, 0, 0)
        info = c.info()
        sqs = boto3.client("sqs", endpoint_url=info["endpoint_url"])
        dead = sqs.receive_message(QueueUrl=info["dlq_url"], MessageSystemAttributeNames=["All"],
                                   VisibilityTimeout=0)["Messages"]
        assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 5  # maxReceiveCount tries first

        later = [{"account_id": "p", "seq": 3, "type": "t"}]
        assert post(c, later)[0] == 202  # the account moves on past its dead-lettered event
        r = report(c, first + later, started)
        assert r["dlq_events"] == [{"account_id": "p", "seq": 2, "later_processed": 1}]

        plan.poison.clear()  # the cause is fixed
        assert redrive(sqs, info["dlq_url"], info["queue_url"]) == 1
        r = report(c, first + later, started)
    assert (r["processed"], r["dlq"], r["lost"]) == (6, 0, 0)
    assert r["order_violations"] == 1  # p:2 ran after p:3 - what redrive means for order


def test_events_received_with_a_poison_event_share_its_fate(tmp_path: Path) -> None:
    # SQS counts receives per message: the events of the poison one's group that came back with
    # it batch after batch reach maxReceiveCount with it and are dead-lettered too - in order, so
    # a redrive replays the whole tail of the account in order.
    plan = FaultPlan(poison={("p", 2)})
    events = events_of({"p": 4})
    with cloud(tmp_path, plan) as c:
        started = time.time()
        assert post(c, events)[0] == 202
        r = report(c, events, started)
        assert [(e["seq"], e["later_processed"]) for e in r["dlq_events"]] == [(2, 0), (3, 0), (4, 0)]
        plan.poison.clear()
        info = c.info()
        assert redrive(boto3.client("sqs", endpoint_url=info["endpoint_url"]), info["dlq_url"], info["queue_url"]) == 3
        r = report(c, events, started)
    assert (r["processed"], r["dlq"], r["lost"], r["order_violations"]) == (4, 0, 0, 0)


def test_a_consumer_killed_mid_batch_loses_and_doubles_nothing(tmp_path: Path) -> None:
    events = events_of({f"k{i}": 5 for i in range(30)})
    with cloud(tmp_path, in_process=False, processing_seconds=0.3) as c:
        info = c.info()
        sqs = boto3.client("sqs", endpoint_url=info["endpoint_url"])
        # Shorter than the template's 180 s so the test is quick, still longer than a batch (5 x 0.3 s).
        sqs.set_queue_attributes(QueueUrl=info["queue_url"], Attributes={"VisibilityTimeout": "4"})
        time.sleep(1.5)  # the pollers' current long polls (1 s) were made with the old visibility
        started = time.time()
        assert post(c, events)[0] == 202
        _kill_consumers_holding_unstored_events(c, len(events))
        c.start_consumer()
        r = report(c, events, started)
    assert healthy(r) and (r["accepted"], r["processed"]) == (150, 150)
    assert r["retries"] > 0  # the killed consumers' messages were delivered again


def _kill_consumers_holding_unstored_events(c: LocalCloud, accepted: int, timeout: float = 30) -> None:
    """SIGKILL every consumer at a moment when they hold received events whose results are not stored.

    A kill at a random moment can fall between two batches, when the consumers hold nothing and
    nothing needs redelivery. So freeze them first (SIGSTOP): then only they could have deleted
    or stored anything, and every accepted event that is neither stored nor visible in the queue
    is held, unfinished, by a frozen consumer. Kill then; otherwise thaw them and look again.
    """
    info = c.info()
    sqs = boto3.client("sqs", endpoint_url=info["endpoint_url"])
    table = boto3.client("dynamodb", endpoint_url=info["endpoint_url"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        _signal_consumers(c, signal.SIGSTOP)
        try:
            time.sleep(0.2)  # calls the consumers had already sent finish in the backend
            stored = table.scan(TableName=info["table_name"], Select="COUNT")["Count"]
            visible = int(sqs.get_queue_attributes(QueueUrl=info["queue_url"], AttributeNames=[
                "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        except BaseException:
            _signal_consumers(c, signal.SIGCONT)  # so that the cloud can stop them
            raise
        if stored and stored + visible < accepted:
            _signal_consumers(c, signal.SIGKILL)  # no clean-up, mid-batch
            for child in c.consumers:
                child.process.wait(10)
            return
        _signal_consumers(c, signal.SIGCONT)
    raise AssertionError(f"the consumers never held an unfinished event in {timeout:.0f} s")


def _signal_consumers(c: LocalCloud, signum: int) -> None:
    for child in c.consumers:
        child.process.send_signal(signum)


def test_the_same_request_twice_is_processed_once(tmp_path: Path) -> None:
    events = events_of({"d1": 3, "d2": 2})
    with cloud(tmp_path) as c:
        started = time.time()
        assert post(c, events)[0] == 202
        assert post(c, events)[0] == 202  # a client retry
        first = report(c, events, started)
        assert post(c, events[:1])[0] == 202  # the same event again, in another request, within 5 minutes
        again = report(c, events, started)
    assert healthy(first) and first["processed"] == 5
    assert healthy(again) and again["processed"] == 5 and again["duplicates"] == 0
    counts = outcome.log_counts(tmp_path / "logs" / "functions.log")
    assert counts is not None and set(counts.values()) == {1}


def test_fifty_concurrent_clients_get_only_designed_answers_and_every_202_is_processed(tmp_path: Path) -> None:
    with cloud(tmp_path) as c:
        started = time.time()
        statuses: Counter[int] = Counter()
        accepted: list[dict[str, Any]] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for block in range(4):
                events = [{"account_id": f"c{n}-{a}", "seq": block + 1, "type": "t"} for a in range(10)]
                status, _ = post(c, events)
                with lock:
                    statuses[status] += 1
                    if status == 202:
                        accepted.extend(events)
                if status != 202:
                    return  # an account's next block must not overtake a refused one

        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(client, range(50)))
        r = report(c, accepted, started)
    assert set(statuses) <= {202, 429, 503}, statuses
    assert statuses[202] > 0 and healthy(r) and r["processed"] == len(accepted)
