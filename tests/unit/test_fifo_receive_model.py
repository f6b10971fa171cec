"""The FIFO model with SQS's receive order: it is fifo_model.py's model, with only the order changed."""
from __future__ import annotations

import random

import pytest

from local import bench, generator
from local.fifo_receive_model import _Queue, simulate

EVENTS = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)]


def queue_of(events: list[tuple[str, int]]) -> _Queue:
    queue = _Queue(events)
    queue.visible = list(range(len(events)))
    return queue


def test_the_group_order_takes_the_oldest_groups_messages_first() -> None:
    got = queue_of(EVENTS).receive("group", 4)
    assert [EVENTS[i] for i in got] == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]


def test_the_arrival_order_takes_messages_as_they_came() -> None:
    got = queue_of(EVENTS).receive("arrival", 4)
    assert [EVENTS[i] for i in got] == [("a", 1), ("b", 1), ("a", 2), ("c", 1)]


@pytest.mark.parametrize(("order", "others"), [("arrival", [("b", 1), ("c", 1), ("b", 2)]),
                                               ("group", [("b", 1), ("b", 2), ("c", 1)])])
def test_a_group_with_a_message_in_flight_is_held_back(order: str, others: list[tuple[str, int]]) -> None:
    queue = queue_of(EVENTS)
    first = queue.receive(order, 1)
    assert [EVENTS[i] for i in queue.receive(order, 10)] == others
    queue.release(first)
    assert [EVENTS[i] for i in queue.receive(order, 10)] == [("a", 2), ("a", 3)]


def test_one_accounts_batches_cost_a_sequential_consumer_nothing() -> None:
    events = [("a", n) for n in range(1, 26)]
    assert simulate(events, "seq", "group") == simulate(events, "par_early", "group") == 25.0


def test_events_that_arrive_later_are_waited_for() -> None:
    assert simulate([("a", 1), ("a", 2)], "seq", "group", arrivals=[0.0, 5.0]) == 6.0


@pytest.mark.parametrize("order", ["arrival", "group"])
def test_no_strategy_beats_the_longest_chain(order: str) -> None:
    rng = random.Random(7)
    for _ in range(5):
        events, seqs = [], {}
        for _ in range(rng.randint(20, 200)):
            account = rng.randrange(15)
            seqs[account] = seqs.get(account, 0) + 1
            events.append((account, seqs[account]))
        longest = max(seqs.values())
        for strategy in ("seq", "par_early"):
            assert simulate(events, strategy, order, concurrency=4) >= longest


def test_with_the_arrival_order_it_gives_fifo_model_pys_figures() -> None:
    fifo_model = bench.load_fifo_model()
    if fifo_model is None:
        pytest.skip(f"the team's model is not at {bench.FIFO_MODEL} (shared/tools beside the repository)")
    workload = generator.plan(300, 2000, seed=3)
    events = [(e["account_id"], e["seq"]) for block in workload.blocks for e in block]
    for strategy in ("seq", "par_early"):
        for concurrency in (1000, 20):
            assert simulate(events, strategy, "arrival", concurrency=concurrency) == fifo_model.simulate(
                events, strategy, C=concurrency)
