"""The run report: was every accepted event processed once, in order, and how fast (DESIGN.md).

Pure computation over what the generator sent and what the results table and DLQ hold, so the
rules are tested without any backend.

* lost: accepted, yet neither in the results table nor in the DLQ.
* duplicates: an event whose result was recorded more than once (counted from the log of
  results when there is one) or a result for an event this run never had accepted.
* order violations: within an account, in ``seq`` order, a result that started before the
  previous one finished - out of order, or two consumers holding one account at once.
* DLQ: an event that failed ``maxReceiveCount`` times is moved there, and SQS then hands out
  its account's later events; each entry says how many of them were processed after it.
* lower bound: each account's chain f_i = max(f_{i-1}, a_i) + t from the intended send times
  a_i; the largest finish is the earliest any system could be done.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Key = tuple[str, int]


@dataclass(frozen=True)
class RunInput:
    started_at: float
    processing_seconds: float
    intended: dict[Key, float]  # every accepted event: offset from the start it was meant to be sent
    results: list[dict[str, Any]]
    dlq: list[Key]
    stored_counts: Counter[Key] | None = None  # "event processed" lines per event, from the log


def stored_at(result: dict[str, Any]) -> float:
    """When the result was written; results stored before the table had ``stored_at`` give ``finished_at``."""
    return float(result.get("stored_at", result["finished_at"]))


def build_report(run: RunInput) -> dict[str, Any]:
    accepted = set(run.intended)
    by_key = {(r["account_id"], int(r["seq"])): r for r in run.results}
    processed = accepted & set(by_key)
    in_dlq = accepted & set(run.dlq)
    stored = [stored_at(by_key[k]) for k in processed]
    makespan = max(stored) - run.started_at if stored else 0.0
    bound = lower_bound(run.intended, run.processing_seconds)
    latencies = sorted((stored_at(by_key[k]) - float(by_key[k]["received_at"])) * 1000 for k in processed)
    return {
        "accepted": len(accepted),
        "processed": len(processed),
        "lost": len(accepted - processed - in_dlq),
        "duplicates": _duplicates(run, accepted, by_key),
        "order_violations": len(order_violations(by_key[k] for k in processed)),
        "dlq": len(in_dlq),
        "dlq_events": [_dlq_entry(key, processed) for key in sorted(in_dlq)],
        "retries": sum(int(by_key[k].get("receive_count", 1)) - 1 for k in processed),
        "makespan_s": round(makespan, 3),
        "lower_bound_s": round(bound, 3),
        "efficiency": round(bound / makespan, 4) if makespan else 0.0,
        "throughput_eps": round(len(processed) / makespan, 2) if makespan else 0.0,
        "latency_ms": {f"p{p}": round(percentile(latencies, p), 1) for p in (50, 95, 99)},
    }


def _dlq_entry(key: Key, processed: set[Key]) -> dict[str, Any]:
    """A dead-lettered event and what became of its account's later events: SQS moved on to them."""
    account, seq = key
    later = sorted(s for a, s in processed if a == account and s > seq)
    return {"account_id": account, "seq": seq, "later_processed": len(later)}


def lower_bound(intended: dict[Key, float], t: float) -> float:
    chains: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (account, seq), at in intended.items():
        chains[account].append((seq, at))
    best = 0.0
    for events in chains.values():
        finish = 0.0
        for _, at in sorted(events):
            finish = max(finish, at) + t
        best = max(best, finish)
    return best


def order_violations(results: Iterable[dict[str, Any]]) -> list[tuple[Key, Key]]:
    """Pairs (earlier, later) of one account whose processing windows are out of order or overlap."""
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by_account[result["account_id"]].append(result)
    found = []
    for account, items in by_account.items():
        items.sort(key=lambda r: int(r["seq"]))
        for before, after in zip(items, items[1:]):
            if float(after["started_at"]) < float(before["finished_at"]):
                found.append(((account, int(before["seq"])), (account, int(after["seq"]))))
    return found


def _duplicates(run: RunInput, accepted: set[Key], by_key: dict[Key, dict[str, Any]]) -> int:
    unexpected = len(set(by_key) - accepted)
    if run.stored_counts is None:
        return unexpected
    return unexpected + sum(1 for key, n in run.stored_counts.items() if key in accepted and n > 1)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[rank]
