"""The processor's batch rules: groups side by side, each in order, failures confined to their group."""
from __future__ import annotations

import threading
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from inorder.fifo_batch import FifoBatchRunner

logger = Logger(service="test")


def record(group: str, n: int) -> dict[str, Any]:
    return {"messageId": f"{group}-{n}", "receiptHandle": f"rh-{group}-{n}", "body": "{}",
            "attributes": {"MessageGroupId": group}}


def batch(spec: dict[str, int]) -> list[dict[str, Any]]:
    """Records interleaved across groups, as a FIFO batch can hold them."""
    rows = [record(g, i) for g, count in spec.items() for i in range(count)]
    return sorted(rows, key=lambda r: int(r["messageId"].split("-")[1]))


def failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def plenty() -> int:
    return 60_000


def test_groups_run_side_by_side() -> None:
    # Three groups must be inside handle() at the same time to pass the barrier:
    # a runner that goes group by group times out here instead.
    barrier = threading.Barrier(3, timeout=5)
    runner = FifoBatchRunner(lambda r: barrier.wait(), logger, record_budget_ms=0)
    assert failures(runner.run(batch({"a": 1, "b": 1, "c": 1}), plenty)) == []


def test_each_group_runs_in_order() -> None:
    seen: dict[str, list[str]] = {}
    lock = threading.Lock()

    def handle(r: dict[str, Any]) -> None:
        with lock:
            seen.setdefault(r["attributes"]["MessageGroupId"], []).append(r["messageId"])

    FifoBatchRunner(handle, logger, record_budget_ms=0).run(batch({"a": 4, "b": 3, "c": 3}), plenty)
    assert seen == {"a": ["a-0", "a-1", "a-2", "a-3"], "b": ["b-0", "b-1", "b-2"], "c": ["c-0", "c-1", "c-2"]}


def test_a_failure_fails_the_rest_of_its_group_only() -> None:
    handled: list[str] = []

    def handle(r: dict[str, Any]) -> None:
        if r["messageId"] == "a-1":
            raise RuntimeError("boom")
        handled.append(r["messageId"])

    response = FifoBatchRunner(handle, logger, record_budget_ms=0).run(batch({"a": 4, "b": 4}), plenty)
    assert failures(response) == ["a-1", "a-2", "a-3"]
    assert "a-2" not in handled and {"b-0", "b-1", "b-2", "b-3", "a-0"} <= set(handled)


def test_records_that_cannot_finish_in_time_are_not_started() -> None:
    left = iter([5_000, 5_000, 500, 500, 500, 500])
    handled: list[str] = []
    runner = FifoBatchRunner(lambda r: handled.append(r["messageId"]), logger, record_budget_ms=2_000)
    response = runner.run(batch({"a": 4}), lambda: next(left))
    assert handled == ["a-0", "a-1"]
    assert failures(response) == ["a-2", "a-3"]


class Feedback:
    """Records what the runner tells the queue; ``on_release`` lets a test react to a release."""

    def __init__(self, on_release: Any = None, fail: bool = False):
        self.released: list[list[str]] = []
        self.returned: list[tuple[list[str], bool]] = []
        self._on_release = on_release
        self._fail = fail

    def release(self, records: list[dict[str, Any]]) -> None:
        self.released.append([r["messageId"] for r in records])
        if self._on_release:
            self._on_release(self)
        if self._fail:
            raise RuntimeError("delete failed")

    def retry_later(self, records: list[dict[str, Any]], after_failure: bool) -> None:
        self.returned.append(([r["messageId"] for r in records], after_failure))
        if self._fail:
            raise RuntimeError("change visibility failed")


def released_ids(feedback: Feedback) -> list[str]:
    return sorted(i for call in feedback.released for i in call)


def test_a_group_done_before_the_others_is_released_with_only_its_done_records() -> None:
    slow_group_may_finish = threading.Event()

    def handle(r: dict[str, Any]) -> None:
        if r["messageId"] == "b-1":
            raise RuntimeError("boom")
        if r["messageId"] == "c-0":
            assert slow_group_may_finish.wait(5)

    def on_release(f: Feedback) -> None:
        if released_ids(f) == ["a-0", "a-1", "b-0"]:
            slow_group_may_finish.set()

    feedback = Feedback(on_release=on_release)
    FifoBatchRunner(handle, logger, record_budget_ms=0, feedback=feedback).run(batch({"a": 2, "b": 3, "c": 1}), plenty)
    # a and b finish while c still works; c finishes last and is left to the event source mapping.
    assert released_ids(feedback) == ["a-0", "a-1", "b-0"]
    assert feedback.returned == [(["b-1", "b-2"], True)]


def test_groups_that_finish_close_together_share_one_release() -> None:
    c_may_finish = threading.Event()
    feedback = Feedback(on_release=lambda f: c_may_finish.set())
    runner = FifoBatchRunner(lambda r: r["messageId"] == "c-0" and c_may_finish.wait(5), logger,
                             record_budget_ms=0, feedback=feedback, release_window_s=0.2)
    runner.run(batch({"a": 1, "b": 1, "c": 1}), plenty)
    assert [sorted(call) for call in feedback.released] == [["a-0", "b-0"]]


def test_a_batch_whose_groups_all_finish_within_the_window_needs_no_release() -> None:
    feedback = Feedback()
    barrier = threading.Barrier(3, timeout=5)  # all three finish at about the same time
    FifoBatchRunner(lambda r: barrier.wait(), logger, record_budget_ms=0, feedback=feedback,
                    release_window_s=5).run(batch({"a": 1, "b": 1, "c": 1}), plenty)
    assert feedback.released == []


def test_the_last_group_to_finish_is_left_to_the_event_source_mapping() -> None:
    feedback = Feedback()
    FifoBatchRunner(lambda r: None, logger, record_budget_ms=0, feedback=feedback).run(batch({"a": 3}), plenty)
    assert feedback.released == [] and feedback.returned == []


def test_records_not_started_for_lack_of_time_come_back_without_back_off() -> None:
    left = iter([5_000, 500, 500])
    feedback = Feedback()
    FifoBatchRunner(lambda r: None, logger, record_budget_ms=2_000, feedback=feedback).run(
        batch({"a": 3}), lambda: next(left))
    assert feedback.returned == [(["a-1", "a-2"], False)]


def test_failed_feedback_is_not_a_failed_record() -> None:
    feedback = Feedback(fail=True)

    def handle(r: dict[str, Any]) -> None:
        if r["messageId"] == "b-1":
            raise RuntimeError("boom")

    runner = FifoBatchRunner(handle, logger, record_budget_ms=0, feedback=feedback, release_window_s=0)
    response = runner.run(batch({"a": 2, "b": 2}), plenty)
    assert failures(response) == ["b-1"]
    assert len(feedback.released) == 1 and len(feedback.returned) == 1


def test_a_group_s_results_are_committed_in_one_call_before_its_release() -> None:
    events: list[tuple[str, list[str]]] = []
    b_may_finish = threading.Event()

    def handle(r: dict[str, Any]) -> str:
        if r["messageId"] == "b-0":
            assert b_may_finish.wait(5)
        return str(r["messageId"]).upper()

    def commit(results: list[str]) -> int:
        events.append(("commit", results))
        return len(results)

    def on_release(f: Feedback) -> None:
        events.append(("release", f.released[-1]))
        b_may_finish.set()

    runner = FifoBatchRunner(handle, logger, record_budget_ms=0, commit=commit,
                             feedback=Feedback(on_release=on_release), release_window_s=0)
    assert failures(runner.run(batch({"a": 3, "b": 1}), plenty)) == []
    assert events == [("commit", ["A-0", "A-1", "A-2"]), ("release", ["a-0", "a-1", "a-2"]), ("commit", ["B-0"])]


def test_what_the_commit_does_not_confirm_comes_back_like_a_failure() -> None:
    feedback = Feedback()
    runner = FifoBatchRunner(lambda r: r["messageId"], logger, record_budget_ms=0, feedback=feedback,
                             commit=lambda results: 1 if results[0].startswith("a") else len(results))
    assert failures(runner.run(batch({"a": 3, "b": 2}), plenty)) == ["a-1", "a-2"]
    assert feedback.returned == [(["a-1", "a-2"], True)]


def test_a_commit_that_raises_hands_the_whole_run_back() -> None:
    def commit(results: list[str]) -> int:
        raise ConnectionError("reset")

    response = FifoBatchRunner(lambda r: None, logger, record_budget_ms=0, commit=commit).run(batch({"a": 2}), plenty)
    assert failures(response) == ["a-0", "a-1"]


@pytest.mark.parametrize("spec", [{"a": 10}, {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1, "h": 1, "i": 1, "j": 1}])
def test_every_record_of_a_full_batch_is_handled_once(spec: dict[str, int]) -> None:
    handled: list[str] = []
    lock = threading.Lock()

    def handle(r: dict[str, Any]) -> None:
        with lock:
            handled.append(r["messageId"])

    records = batch(spec)
    FifoBatchRunner(handle, logger, record_budget_ms=0).run(records, plenty)
    assert sorted(handled) == sorted(r["messageId"] for r in records)
