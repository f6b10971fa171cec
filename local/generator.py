"""The console script that plays the web API's clients (the seed task's generator).

It makes ``events`` events over ``accounts`` accounts in random blocks of up to 1,000; a block
carries, for each account in it, a run of 1-5 consecutive events. Blocks go to ``POST /events``
one after another - a client must not send an account's next events before the earlier ones
were taken - as a burst, or as a stream at ``rate`` events a second. Every event's intended send
time is kept: the verifier's lower bound counts from it, so a slow API costs efficiency.
"""
from __future__ import annotations

import http.client
import json
import random
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

EVENT_TYPES = ("created", "updated", "paid", "shipped", "closed")
MAX_BLOCK = 1000
RETRIES = 8


class GeneratorError(RuntimeError):
    """The API refused a block for a reason a retry cannot fix."""


@dataclass
class Plan:
    """The events of a run, block by block, with each event's intended send time (s from start)."""

    blocks: list[list[dict[str, Any]]]
    intended: dict[tuple[str, int], float]


def plan(accounts: int, events: int, seed: int, rate: float | None = None,
         prefix: str = "acct-", max_block: int = MAX_BLOCK) -> Plan:
    rng = random.Random(seed)
    seqs: dict[int, int] = defaultdict(int)
    blocks: list[list[dict[str, Any]]] = []
    made = 0
    while made < events:
        size = min(rng.randint(1, max_block), events - made)
        block: list[dict[str, Any]] = []
        for account in rng.sample(range(accounts), min(accounts, size)):
            if len(block) == size:
                break
            for _ in range(min(rng.randint(1, 5), size - len(block))):
                seqs[account] += 1
                block.append({"account_id": f"{prefix}{account:06d}", "seq": seqs[account],
                              "type": rng.choice(EVENT_TYPES), "payload": {"block": len(blocks)}})
        blocks.append(block)
        made += len(block)
    intended: dict[tuple[str, int], float] = {}
    position = 0
    for block in blocks:
        for event in block:
            intended[(event["account_id"], event["seq"])] = position / rate if rate else 0.0
            position += 1
    return Plan(blocks, intended)


@dataclass
class SendResult:
    started_at: float
    accepted: set[tuple[str, int]] = field(default_factory=set)
    requests: int = 0
    retries: int = 0


class ApiClient:
    """A keep-alive HTTP client for the events API."""

    def __init__(self, api_url: str, api_key: str, timeout: float = 60):
        parts = urlsplit(api_url.rstrip("/"))
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connect = lambda: factory(parts.netloc, timeout=timeout)
        self._base = parts.path
        self._key = api_key
        self._conn = self._connect()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"x-api-key": self._key, "Content-Type": "application/json"}
        try:
            self._conn.request(method, self._base + path, body=data, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            self._conn = self._connect()
            raise
        try:
            return response.status, json.loads(raw or b"null")
        except json.JSONDecodeError:
            return response.status, raw.decode(errors="replace")

    def close(self) -> None:
        self._conn.close()


def send(workload: Plan, client: ApiClient, rate: float | None = None,
         progress: Callable[[int, int], None] | None = None) -> SendResult:
    """Send the blocks in order; retry what the API could not take (safe: dedup ids)."""
    result = SendResult(started_at=time.time())
    total = sum(len(b) for b in workload.blocks)
    sent = 0
    for block in workload.blocks:
        if rate:  # a block leaves once its last event is due
            last = workload.intended[(block[-1]["account_id"], block[-1]["seq"])]
            time.sleep(max(0.0, result.started_at + last - time.time()))
        _send_block(block, client, result)
        sent += len(block)
        if progress:
            progress(sent, total)
    return result


def _send_block(block: list[dict[str, Any]], client: ApiClient, result: SendResult) -> None:
    answer: Any = "no answer"
    for attempt in range(RETRIES):
        if attempt:
            result.retries += 1
            time.sleep(min(5.0, 0.2 * 2 ** attempt))
        result.requests += 1
        try:
            status, answer = client.request("POST", "/events", {"events": block})
        except (OSError, http.client.HTTPException) as error:
            answer = str(error)
            print(f"generator: request failed ({error}); retrying", file=sys.stderr)
            continue
        if status == 202:
            result.accepted.update((e["account_id"], e["seq"]) for e in block)
            return
        if status not in (429, 502, 503, 504):
            raise GeneratorError(f"POST /events answered {status}: {answer}")
    # Stop rather than send an account's later events after earlier ones that never got in.
    raise GeneratorError(f"POST /events did not take a block after {RETRIES} attempts: {answer}")


def new_prefix() -> str:
    """Account ids unique to a run, so runs against one long-lived deployment never collide."""
    return f"r{secrets.token_hex(3)}-"
