"""The team's FIFO model with a choice of receive order, to see what the speedup target rests on.

``shared/tools/fifo_model.py`` fills a batch in arrival order across groups, so a burst's batches
mix accounts and a front-to-back consumer waits on the others' events: there the sequential
strategy is 1.8-2.0x the best. SQS documents another order (developer guide, "FIFO queue delivery
logic"): a receive returns "as many messages with the same message group ID as possible" and fills
the rest of the batch from other groups. This model is fifo_model.py's
(zero API latency, ``C`` invocations at most, ``t`` seconds an event, one event taken off the
clock at a time, so a receive right after a batch ends sees only that batch's groups unlocked)
with that order as an option, so the bench can print both side by side.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Literal

Event = tuple[Hashable, int]  # (group, seq)
Order = Literal["arrival", "group"]
Strategy = Literal["seq", "par_early"]
END, RELEASE = 0, 1  # at the same instant an invocation's end comes first, as in fifo_model.py


class _Queue:
    """Visible messages in arrival order and the groups with messages in flight."""

    def __init__(self, events: Sequence[Event]):
        self.events = events
        self.visible: list[int] = []
        self.in_flight: defaultdict[Hashable, int] = defaultdict(int)

    def receive(self, order: Order, batch: int) -> list[int]:
        got: list[int] = []
        for i in self.visible:
            group = self.events[i][0]
            if self.in_flight[group] or (order == "group" and any(self.events[j][0] == group for j in got)):
                continue
            if order == "group":  # the oldest unlocked group's messages first, then the next group's
                got += [j for j in self.visible if self.events[j][0] == group][:batch - len(got)]
            else:
                got.append(i)
            if len(got) >= batch:
                break
        for i in got:
            self.in_flight[self.events[i][0]] += 1
        taken = set(got)
        self.visible = [i for i in self.visible if i not in taken]
        return got

    def release(self, messages: list[int]) -> None:
        for i in messages:
            self.in_flight[self.events[i][0]] -= 1


def simulate(events: Sequence[Event], strategy: Strategy, order: Order, arrivals: Sequence[float] | None = None,
             concurrency: int = 1000, batch: int = 10, seconds: float = 1.0) -> float:
    """The makespan: when the last event is done. ``arrivals`` (default: all at 0) are in event order."""
    arrivals = arrivals or [0.0] * len(events)
    queue, clock = _Queue(events), []  # clock: (time, END or RELEASE, messages released)
    done, running, arrived, now = 0.0, 0, 0, 0.0
    while True:
        while arrived < len(events) and arrivals[arrived] <= now:
            queue.visible.append(arrived)
            arrived += 1
        while running < concurrency and (got := queue.receive(order, batch)):
            running += 1
            done = max(done, _run(events, got, strategy, now, seconds, clock))
        upcoming = ([clock[0][0]] if clock else []) + ([arrivals[arrived]] if arrived < len(events) else [])
        if not upcoming:
            return done
        now = min(upcoming)
        if clock and clock[0][0] <= now:
            _, kind, messages = heapq.heappop(clock)
            queue.release(messages)
            running -= kind == END


def _run(events: Sequence[Event], got: list[int], strategy: Strategy, at: float, seconds: float,
         clock: list[tuple[float, int, list[int]]]) -> float:
    """Schedule one invocation; return when its last event is done."""
    if strategy == "seq":  # front to back, every message released when the invocation ends
        end = at + seconds * len(got)
        heapq.heappush(clock, (end, END, got))
        return end
    runs: defaultdict[Hashable, list[int]] = defaultdict(list)
    for i in got:
        runs[events[i][0]].append(i)
    end = at
    for run in runs.values():  # groups side by side, each group's messages released when its run ends
        heapq.heappush(clock, (at + seconds * len(run), RELEASE, run))
        end = max(end, at + seconds * len(run))
    heapq.heappush(clock, (end, END, []))
    return end
