"""``python -m local demo | serve | generate | verify`` - the CLI contract of DESIGN.md.

Other tools depend on these flags and on the report and info-file keys: extend, never rename.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import boto3

from local import bench, redrive, runs
from local.aws import use_dummy_credentials
from local.cloud import CloudOptions, LocalCloud
from local.faults import FaultPlan
from local.invoke import add_parser as add_invoke_parser

STATE_DIR = Path(".inorder")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole mission on the local cloud and report")
    _workload_flags(demo)
    demo.add_argument("--processing-seconds", type=float, default=1.0)
    demo.add_argument("--report-json", type=Path)
    demo.add_argument("--fail-rate", type=_share, default=0.0,
                      help="share of processing attempts that fail at random (injected by the local cloud)")
    demo.add_argument("--timeout", type=float, default=900, help="seconds to wait for the queue to drain")
    demo.set_defaults(run=run_demo)

    serve = commands.add_parser("serve", help="keep the local cloud up and write where it is")
    serve.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    serve.add_argument("--processing-seconds", type=float, default=None,
                       help="default: the template's ProcessingSeconds")
    serve.add_argument("--info-file", type=Path, default=STATE_DIR / "serve.json")
    serve.add_argument("--api-key", help="default: a new random key")
    serve.set_defaults(run=run_serve)

    generate = commands.add_parser("generate", help="send a workload to an events API")
    _workload_flags(generate)
    _target_flags(generate)
    generate.add_argument("--out", type=Path, default=STATE_DIR / "last-run.json",
                          help="run file for 'verify' (what was accepted, and when it was meant to be sent)")
    generate.set_defaults(run=run_generate)

    verify = commands.add_parser("verify", help="check a run's results and report")
    _target_flags(verify)
    verify.add_argument("--run-file", type=Path, default=STATE_DIR / "last-run.json")
    verify.add_argument("--processing-seconds", type=float, default=1.0)
    verify.add_argument("--table", help="results table (default: from --info-file)")
    verify.add_argument("--queue-url", help="events queue (default: from --info-file)")
    verify.add_argument("--dlq-url", help="dead-letter queue (default: from --info-file)")
    verify.add_argument("--results-log", type=Path, help="the functions' log, to count duplicate results")
    verify.add_argument("--timeout", type=float, default=900)
    verify.add_argument("--report-json", type=Path)
    verify.set_defaults(run=run_verify)

    back = commands.add_parser("redrive", help="move dead-lettered events back to the events queue")
    back.add_argument("--info-file", type=Path, help="a 'serve' info file to take the queues from")
    back.add_argument("--queue-url", help="events queue (default: from --info-file)")
    back.add_argument("--dlq-url", help="dead-letter queue (default: from --info-file)")
    back.set_defaults(run=run_redrive)
    add_invoke_parser(commands)
    bench.add_parser(commands)
    return parser


def _workload_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=_positive_int, default=1000)
    parser.add_argument("--events", type=_positive_int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, help="events per second (default: one burst)")


def _target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--info-file", type=Path, help="a 'serve' info file to take every address from")
    parser.add_argument("--api-url")
    parser.add_argument("--api-key")


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_demo(args: argparse.Namespace) -> int:
    print(f"inorder demo: {args.accounts:,} accounts, {args.events:,} events, "
          f"{args.processing_seconds} s each, seed {args.seed}"
          + (f", {args.fail_rate:.0%} of attempts failing" if args.fail_rate else ""), file=sys.stderr)
    faults = FaultPlan(fail_rate=args.fail_rate, seed=args.seed)
    with LocalCloud(CloudOptions(processing_seconds=args.processing_seconds, faults=faults)) as cloud:
        info = cloud.info()
        print(f"  local cloud up: API {info['api_url']}, backend {info['endpoint_url']}", file=sys.stderr)
        run = runs.generate(info["api_url"], info["api_key"], args)
        report = runs.verify(info, run, args.processing_seconds, args.timeout,
                             results_log=cloud.results_log)
    return runs.finish(report, args.report_json)


def run_serve(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    options = CloudOptions(processing_seconds=args.processing_seconds, port=args.port, api_key=args.api_key)
    with LocalCloud(options) as cloud:
        info = cloud.info()
        args.info_file.parent.mkdir(parents=True, exist_ok=True)
        args.info_file.write_text(json.dumps(info, indent=2) + "\n")
        print(json.dumps(info, indent=2), flush=True)
        print(f"local cloud up; info in {args.info_file}; Ctrl-C to stop", file=sys.stderr, flush=True)
        stop.wait()
    print("local cloud stopped", file=sys.stderr)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    info = _target(args)
    run = runs.generate(info["api_url"], info["api_key"], args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(run.to_json()) + "\n")
    print(f"accepted {len(run.intended):,} events; run file {args.out}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    info = _target(args, need_api=False)
    for key, flag in (("table_name", args.table), ("queue_url", args.queue_url), ("dlq_url", args.dlq_url)):
        if flag:
            info[key] = flag
    missing = [k for k in ("table_name", "queue_url", "dlq_url") if not info.get(k)]
    if missing:
        sys.exit(f"verify: missing {', '.join(missing)}: give --info-file or --table/--queue-url/--dlq-url")
    run = runs.Run.from_json(json.loads(args.run_file.read_text()))
    report = runs.verify(info, run, args.processing_seconds, args.timeout, results_log=args.results_log)
    return runs.finish(report, args.report_json)


def run_redrive(args: argparse.Namespace) -> int:
    info = _target(args, need_api=False)
    queue_url, dlq_url = args.queue_url or info.get("queue_url"), args.dlq_url or info.get("dlq_url")
    if not (queue_url and dlq_url):
        sys.exit("redrive: give --info-file or --queue-url and --dlq-url")
    moved = redrive.redrive(boto3.client("sqs", region_name=info.get("region")), dlq_url, queue_url)
    print(f"moved {moved} message(s) from the DLQ back to {queue_url}; they are processed after "
          f"their accounts' later events (see README, Guarantees)", file=sys.stderr)
    return 0


def _target(args: argparse.Namespace, need_api: bool = True) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(args.info_file.read_text()) if args.info_file else {}
    info["api_url"] = args.api_url or info.get("api_url")
    info["api_key"] = args.api_key or info.get("api_key")
    if need_api and not (info["api_url"] and info["api_key"]):
        sys.exit("missing --api-url and --api-key (or --info-file from 'python -m local serve')")
    if info.get("endpoint_url"):
        os.environ.setdefault("AWS_ENDPOINT_URL", info["endpoint_url"])
    if info.get("region"):
        os.environ.setdefault("AWS_DEFAULT_REGION", info["region"])
    if os.environ.get("AWS_ENDPOINT_URL"):
        use_dummy_credentials()
    return info
