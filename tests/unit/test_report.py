"""The report's rules: lost, duplicates, order, and the lower bound recurrence of DESIGN.md."""
from __future__ import annotations

from collections import Counter
from typing import Any

from local.report import RunInput, build_report, lower_bound, order_violations, percentile


def result(account: str, seq: int, start: float, end: float, received: float = 0.0, receives: int = 1) -> dict[str, Any]:
    return {"account_id": account, "seq": seq, "started_at": start, "finished_at": end,
            "received_at": received, "receive_count": receives}


def test_the_lower_bound_follows_each_accounts_chain() -> None:
    # a: three events meant at 0 s -> done at 3 s; b: meant at 0 and 10 s -> 1 s, then 11 s.
    intended = {("a", 1): 0.0, ("a", 2): 0.0, ("a", 3): 0.0, ("b", 1): 0.0, ("b", 2): 10.0}
    assert lower_bound(intended, 1.0) == 11.0
    assert lower_bound({k: 0.0 for k in intended}, 1.0) == 3.0


def test_overlapping_or_reversed_windows_are_violations() -> None:
    ok = [result("a", 1, 0, 1), result("a", 2, 1, 2)]
    overlap = [result("b", 1, 0, 1), result("b", 2, 0.5, 1.5)]
    reversed_ = [result("c", 2, 0, 1), result("c", 1, 1, 2)]
    found = order_violations(ok + overlap + reversed_)
    assert found == [(("b", 1), ("b", 2)), (("c", 1), ("c", 2))]


def run(results: list[dict[str, Any]], dlq: list[tuple[str, int]] = (), counts: Counter | None = None) -> dict[str, Any]:
    intended = {("a", 1): 0.0, ("a", 2): 0.0, ("b", 1): 0.0}
    return build_report(RunInput(100.0, 1.0, intended, results, list(dlq), counts))


def test_a_clean_run() -> None:
    report = run([result("a", 1, 100, 101, 100), result("a", 2, 101, 102, 100, receives=2), result("b", 1, 100, 101, 100)])
    assert {k: report[k] for k in ("accepted", "processed", "lost", "duplicates", "order_violations", "dlq", "retries")} == \
        {"accepted": 3, "processed": 3, "lost": 0, "duplicates": 0, "order_violations": 0, "dlq": 0, "retries": 1}
    assert (report["makespan_s"], report["lower_bound_s"], report["efficiency"]) == (2.0, 2.0, 1.0)
    assert report["throughput_eps"] == 1.5 and report["latency_ms"]["p50"] == 1000.0


def test_makespan_and_latency_run_to_when_results_were_stored() -> None:
    # a's two results were written together at 102.5, half a second after the second one finished.
    results = [{**result("a", 1, 100, 101, 100), "stored_at": 102.5}, {**result("a", 2, 101, 102, 100), "stored_at": 102.5},
               result("b", 1, 100, 101, 100)]  # no stored_at (an older result): its finished_at stands in
    report = run(results)
    assert report["makespan_s"] == 2.5
    assert report["latency_ms"]["p50"] == 2500.0 and report["latency_ms"]["p99"] == 2500.0


def test_missing_results_are_lost_unless_in_the_dlq() -> None:
    assert run([result("a", 1, 100, 101)])["lost"] == 2
    report = run([result("a", 1, 100, 101)], dlq=[("a", 2)])
    assert (report["lost"], report["dlq"]) == (1, 1)
    assert report["dlq_events"] == [{"account_id": "a", "seq": 2, "later_processed": 0}]


def test_a_dead_lettered_event_names_the_later_events_processed_after_it() -> None:
    intended = {("a", 1): 0.0, ("a", 2): 0.0, ("a", 3): 0.0}
    report = build_report(RunInput(0.0, 1.0, intended, [result("a", 1, 0, 1), result("a", 3, 1, 2)], [("a", 2)]))
    assert report["dlq_events"] == [{"account_id": "a", "seq": 2, "later_processed": 1}]
    assert (report["lost"], report["order_violations"]) == (0, 0)


def test_duplicates_from_the_log_and_unexpected_results() -> None:
    results = [result("a", 1, 100, 101), result("a", 2, 101, 102), result("b", 1, 100, 101), result("z", 1, 100, 101)]
    assert run(results)["duplicates"] == 1
    assert run(results, counts=Counter({("a", 1): 2, ("a", 2): 1}))["duplicates"] == 2


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) == 0.0
