"""The two halves of a run - send a workload, then check it - shared by demo, generate and verify."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local import generator, outcome
from local.report import RunInput, build_report

REPORT_ORDER = ("accepted", "processed", "lost", "duplicates", "order_violations", "dlq", "retries",
                "makespan_s", "lower_bound_s", "efficiency", "throughput_eps", "latency_ms")


@dataclass
class Run:
    """What verify needs from generate: when the run started and every accepted event's intended time."""

    started_at: float
    intended: dict[tuple[str, int], float]
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"started_at": self.started_at, **self.meta,
                "accepted": [[a, s, at] for (a, s), at in sorted(self.intended.items())]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        meta = {k: v for k, v in data.items() if k not in ("started_at", "accepted")}
        return cls(float(data["started_at"]), {(a, int(s)): float(at) for a, s, at in data["accepted"]}, meta)


def generate(api_url: str, api_key: str, args: argparse.Namespace) -> Run:
    prefix = generator.new_prefix()
    workload = generator.plan(args.accounts, args.events, args.seed, args.rate, prefix=prefix)
    print(f"  sending {args.events:,} events in {len(workload.blocks)} blocks "
          f"({'burst' if not args.rate else f'{args.rate:g} ev/s'})", file=sys.stderr)
    client = generator.ApiClient(api_url, api_key)
    try:
        result = generator.send(workload, client, args.rate)
    finally:
        client.close()
    took = time.time() - result.started_at
    print(f"  sent: {len(result.accepted):,} accepted in {result.requests} requests "
          f"({result.retries} retried) in {took:.1f} s", file=sys.stderr)
    intended = {key: at for key, at in workload.intended.items() if key in result.accepted}
    meta = {"api_url": api_url, "account_prefix": prefix, "accounts": args.accounts, "events": args.events,
            "seed": args.seed, "rate": args.rate}
    return Run(result.started_at, intended, meta)


def verify(info: dict[str, Any], run: Run, processing_seconds: float, timeout_s: float,
           results_log: Path | None = None) -> dict[str, Any]:
    session = boto3.Session(region_name=info.get("region"))
    sqs = session.client("sqs")
    dynamodb = session.client("dynamodb")
    if not outcome.wait_for_drain(sqs, info["queue_url"], len(run.intended), timeout_s, run.started_at):
        print(f"  the queue did not drain within {timeout_s:.0f} s; reporting what is there", file=sys.stderr)
    accounts = {account for account, _ in run.intended}
    results = outcome.scan_results(dynamodb, info["table_name"], accounts)
    dlq = outcome.peek_dlq(sqs, info["dlq_url"])
    return build_report(RunInput(run.started_at, processing_seconds, run.intended, results, dlq,
                                 outcome.log_counts(results_log)))


def finish(report: dict[str, Any], report_json: Path | None) -> int:
    """Print the report; write it as JSON; exit status 1 when anything was lost, doubled or reordered."""
    print("\ninorder report")
    for key in REPORT_ORDER:
        value = report[key]
        shown = ", ".join(f"{k} {v:,.0f}" for k, v in value.items()) if isinstance(value, dict) else f"{value:,}"
        print(f"  {key:<17} {shown}")
    for event in report["dlq_events"][:20]:
        print(f"  in DLQ: account {event['account_id']} seq {event['seq']}; "
              f"{event['later_processed']} later event(s) of the account processed after it")
    if len(report["dlq_events"]) > 20:
        print(f"  … and {len(report['dlq_events']) - 20} more in the DLQ (see --report-json)")
    if report_json:
        report_json.parent.mkdir(parents=True, exist_ok=True)
        report_json.write_text(json.dumps(report, indent=2) + "\n")
    healthy = report["lost"] == report["duplicates"] == report["order_violations"] == 0
    print("  verdict           " + ("OK: nothing lost, duplicated or reordered" if healthy else "FAILED"))
    return 0 if healthy else 1
