"""Fault injection for the local cloud and the tests - never part of the Lambda code that ships.

It wraps the processing step of ``functions/inorder/processing.py`` in the consumer's process, so
the event source mapping, the queue and the processor's failure handling all see a real failure.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from inorder.processing import EventProcessor


class InjectedFault(RuntimeError):
    """A failure the local cloud made up; the processor must treat it like any other."""


@dataclass
class FaultPlan:
    """``fail_rate``: share of processing attempts failing at random; ``poison``: (account, seq) always failing."""

    fail_rate: float = 0.0
    poison: set[tuple[str, int]] = field(default_factory=set)
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fail_rate": self.fail_rate, "poison": sorted(self.poison), "seed": self.seed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        return cls(data["fail_rate"], {(a, int(s)) for a, s in data["poison"]}, data["seed"])

    @property
    def active(self) -> bool:
        return self.fail_rate > 0 or bool(self.poison)


@contextmanager
def injected(plan: FaultPlan) -> Iterator[None]:
    """Make ``EventProcessor.process`` fail as ``plan`` says, for the duration of the block."""
    original = EventProcessor.process
    rng = random.Random(plan.seed)
    lock = threading.Lock()

    def flaky(self: EventProcessor, event: Any) -> Any:
        if (event.account_id, event.seq) in plan.poison:
            raise InjectedFault(f"poison event {event.account_id}:{event.seq}")
        with lock:
            unlucky = rng.random() < plan.fail_rate
        if unlucky:
            raise InjectedFault(f"transient failure of {event.account_id}:{event.seq}")
        return original(self, event)

    EventProcessor.process = flaky  # type: ignore[method-assign]
    try:
        yield
    finally:
        EventProcessor.process = original  # type: ignore[method-assign]
