"""``python -m local bench`` - how fast the pipeline is, against what, on this machine (issue 5).

One command runs, one after another, each on a fresh ``LocalCloud`` (embedded backend):

* **mission** - 1,000 accounts, 10,000 events, 1 s each, one burst, fixed seed: the report's
  makespan, lower bound, efficiency (DESIGN.md, "How good fast is"), latency and throughput;
* **powertools** - the same workload, with the processor swapped for Powertools'
  ``SqsFifoPartialProcessor(skip_group_on_error=True)`` (``local.baselines.powertools_processor``),
  which runs a batch front to back; same generator, queue, event source mapping and verifier;
* **localstack (model)** - LocalStack's poller (each group of a batch in turn, one poller,
  concurrency ignored; PLATFORM.md) is not run but *modelled*, with ``shared/tools/fifo_model.py``
  on the same generated workload; the model's other strategies are printed next to it, and the
  same model with SQS's own receive order (``local.fifo_receive_model``) beside them;
* **stream** - both processors again, 1,000 accounts fed a steady 200 events/s (6,000 events): each
  account has about one event waiting at a time, so SQS fills a batch from several groups - unlike
  the burst, where it returns as many messages of one group as it can and a batch is mostly one
  account's (why the burst shows little difference between the two processors);
* **overhead** - processing time 0, 50,000 events over 5,000 accounts: end-to-end events/s, and the
  same backend's raw capacity measured in the same cloud (a plain boto3 send / receive / delete loop
  on a FIFO queue like the events queue);
* **scale** - processing time 0, 200,000 events over 100,000 and over 10,000 accounts: nothing lost,
  and the peak memory (VmHWM) of every process; the consumer side must not grow with the accounts.

Progress goes to stderr; the table to stdout; every figure to ``--json``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from local import aws, call_counter, fifo_receive_model, generator, runs
from local.baselines.powertools_processor import HANDLER as POWERTOOLS_HANDLER
from local.cloud import CloudOptions, LocalCloud
from local.report import lower_bound

ROOT = Path(__file__).resolve().parent.parent
FIFO_MODEL = Path(os.environ.get("INORDER_FIFO_MODEL", ROOT.parent / "shared" / "tools" / "fifo_model.py"))
REPORT_KEYS = runs.REPORT_ORDER
RAW_THREADS = 8
LOG_ROOT = Path("bench-results") / "logs"

# Targets of issue 5.
TARGET_EFFICIENCY = 0.9
TARGET_VS_POWERTOOLS = 1.8
TARGET_OVERHEAD = 0.5
TARGET_MEMORY_GROWTH = 1.2


@dataclass(frozen=True)
class Sizes:
    mission_accounts: int = 1000
    mission_events: int = 10_000
    mission_seconds: float = 1.0
    overhead_accounts: int = 5000
    overhead_events: int = 50_000
    scale_accounts: int = 100_000
    scale_small_accounts: int = 10_000
    scale_events: int = 200_000
    stream_events: int = 6_000
    stream_rate: float = 200.0
    timeout_s: float = 1800


# --quick: the same code path on workloads that finish in seconds (a smoke test, not a measurement).
QUICK = Sizes(mission_accounts=20, mission_events=100, mission_seconds=0.1, overhead_accounts=50,
              overhead_events=500, scale_accounts=1000, scale_small_accounts=100, scale_events=1000,
              stream_events=100, stream_rate=100.0, timeout_s=120)


def add_parser(commands: Any) -> None:
    bench = commands.add_parser("bench", help="measure the pipeline against its baselines and targets")
    bench.add_argument("--quick", action="store_true", help="tiny workloads: a smoke test in seconds")
    bench.add_argument("--json", type=Path, default=Path("bench-results") / "bench.json")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--only", nargs="+", metavar="SCENARIO",
                       choices=("mission", "powertools", "stream", "overhead", "scale"),
                       help="run only these scenarios (default: all)")
    bench.set_defaults(run=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else Sizes()
    global LOG_ROOT
    LOG_ROOT = args.json.resolve().parent / "logs"  # beside the JSON: each run's logs stay with its figures
    only = set(args.only or ("mission", "powertools", "stream", "overhead", "scale"))
    started = time.time()
    out: dict[str, Any] = {"seed": args.seed, "quick": args.quick, "started_at": started,
                           "machine": machine(), "load_average_before": os.getloadavg(), "scenarios": {}}
    scenarios = out["scenarios"]
    _say(f"inorder bench{' (quick)' if args.quick else ''}: seed {args.seed}, "
         f"{out['machine']['cpus']} CPUs, load {out['load_average_before'][0]:.2f}")
    if "mission" in only or "powertools" in only:
        workload = generator.plan(sizes.mission_accounts, sizes.mission_events, args.seed)
        scenarios["model"] = model(workload, sizes.mission_seconds)
    if "mission" in only:
        scenarios["mission"] = measure("mission", sizes.mission_accounts, sizes.mission_events,
                                       sizes.mission_seconds, args.seed, sizes.timeout_s)
    if "powertools" in only:
        scenarios["powertools"] = measure("powertools", sizes.mission_accounts, sizes.mission_events,
                                          sizes.mission_seconds, args.seed, sizes.timeout_s,
                                          handler=POWERTOOLS_HANDLER)
    if "stream" in only:
        # A steady stream: each account has about one event waiting at a time, so SQS fills a batch
        # from several groups - where running a batch's groups side by side matters.
        for name, handler in (("stream", None), ("stream_powertools", POWERTOOLS_HANDLER)):
            scenarios[name] = measure(name, sizes.mission_accounts, sizes.stream_events, sizes.mission_seconds,
                                      args.seed, sizes.timeout_s, handler=handler, rate=sizes.stream_rate)
    if "overhead" in only:
        scenarios["overhead"] = measure("overhead", sizes.overhead_accounts, sizes.overhead_events, 0.0,
                                        args.seed, sizes.timeout_s, raw_capacity=True)
    if "scale" in only:
        # Same 200k events both times: backlog, messages and run length stay equal, so the number of
        # accounts is the only thing that changes between the two runs.
        scenarios["scale_small"] = measure("scale_small", sizes.scale_small_accounts, sizes.scale_events, 0.0,
                                           args.seed, sizes.timeout_s)
        scenarios["scale"] = measure("scale", sizes.scale_accounts, sizes.scale_events, 0.0, args.seed,
                                     sizes.timeout_s)
    out["load_average_after"] = os.getloadavg()
    out["duration_s"] = round(time.time() - started, 1)
    out["summary"] = summary(scenarios)
    print(table(out))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    _say(f"written {args.json} ({out['duration_s']:.0f} s)")
    healthy = all(s.get("lost", 0) == s.get("duplicates", 0) == s.get("order_violations", 0) == 0
                  for s in scenarios.values() if "accepted" in s)
    return 0 if healthy else 1


def measure(name: str, accounts: int, events: int, seconds: float, seed: int, timeout_s: float,
            handler: str | None = None, raw_capacity: bool = False, rate: float | None = None) -> dict[str, Any]:
    """One run of the generator and verifier on a fresh local cloud; the report plus peak memory."""
    _say(f"\n[{name}] {accounts:,} accounts, {events:,} events, {seconds:g} s each"
         + (f", {rate:g} ev/s" if rate else "") + (f", processor {handler}" if handler else ""))
    log_dir = LOG_ROOT / name
    shutil.rmtree(log_dir, ignore_errors=True)
    reset_peak_rss(os.getpid())
    options = CloudOptions(processing_seconds=seconds, log_dir=log_dir, processor_handler=handler)
    up = time.monotonic()
    environ = dict(os.environ)  # a cloud exports its endpoint and the functions' settings: the next one starts clean
    try:
        result = _measure(name, options, accounts, events, seconds, seed, timeout_s, handler, raw_capacity, up, rate)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    _say(f"  {name}: makespan {result['makespan_s']:.1f} s, bound {result['lower_bound_s']:.1f} s, "
         f"efficiency {result['efficiency']:.3f}, {result['throughput_eps']:,.0f} ev/s, lost {result['lost']}, "
         f"duplicates {result['duplicates']}, order violations {result['order_violations']}")
    return result


def _measure(name: str, options: CloudOptions, accounts: int, events: int, seconds: float, seed: int,
             timeout_s: float, handler: str | None, raw_capacity: bool, up: float,
             rate: float | None) -> dict[str, Any]:
    cpu_before = sum(os.times()[:2])
    with LocalCloud(options) as cloud:
        info = cloud.info()
        _say(f"  local cloud up in {time.monotonic() - up:.1f} s")
        workload = argparse.Namespace(accounts=accounts, events=events, seed=seed, rate=rate)
        calls_before = call_counter.fetch(info["endpoint_url"])
        run = runs.generate(info["api_url"], info["api_key"], workload)
        sent_s = time.time() - run.started_at
        report = runs.verify(info, run, seconds, timeout_s, results_log=cloud.results_log)
        calls = call_counter.per_event(call_counter.fetch(info["endpoint_url"]), calls_before, events)
        result: dict[str, Any] = {key: report[key] for key in REPORT_KEYS}
        result.update(accounts=accounts, events=events, processing_seconds=seconds, send_s=round(sent_s, 2), rate=rate,
                      handler=handler or "processor.app.handler (template)")
        result["peak_rss_mb"] = peak_memory(cloud)
        result["cpu_s"] = cpu_used(cloud, cpu_before)
        result["calls_per_event"] = calls
        if raw_capacity:
            result["raw"] = raw_loop(info, events, accounts)
    return result


# ---- the LocalStack poller and the other strategies, as fifo_model.py models them


def load_fifo_model() -> ModuleType | None:
    if not FIFO_MODEL.is_file():
        return None
    spec = importlib.util.spec_from_file_location("fifo_model", FIFO_MODEL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model(workload: generator.Plan, seconds: float, concurrency: int = 1000) -> dict[str, Any]:
    """fifo_model.py's makespans for the generated workload (a model: zero API latency, burst at 0)."""
    events = [(e["account_id"], e["seq"]) for block in workload.blocks for e in block]
    sqs_receive = sqs_receive_model(events, seconds, concurrency)
    fifo_model = load_fifo_model()
    if fifo_model is None:
        _say(f"  fifo model not found at {FIFO_MODEL} (set INORDER_FIFO_MODEL): its figures left out")
        return {"available": False, "path": str(FIFO_MODEL), "sqs_receive": sqs_receive}
    bound = lower_bound(workload.intended, seconds)
    out: dict[str, Any] = {"available": True, "path": str(FIFO_MODEL), "lower_bound_s": bound,
                           "concurrency": concurrency, "sqs_receive": sqs_receive}
    for strategy in ("seq", "par", "par_early", "localstack"):
        makespan = fifo_model.simulate(events, strategy, C=concurrency, t=seconds)
        out[strategy] = {"makespan_s": round(makespan, 3), "efficiency": round(bound / makespan, 4)}
    _say("  model: " + ", ".join(f"{k} {out[k]['makespan_s']:,.0f} s" for k in ("seq", "par", "par_early",
                                                                                 "localstack"))
         + f" (bound {bound:.0f} s)")
    return out


def sqs_receive_model(events: list[tuple[str, int]], seconds: float, concurrency: int) -> dict[str, Any]:
    """The same model with SQS's receive order (one group's messages first): what the 1.8x target assumes away."""
    out = {k: round(fifo_receive_model.simulate(events, k, "group", concurrency=concurrency, seconds=seconds), 3)
           for k in ("seq", "par_early")}
    out["ratio"] = round(out["seq"] / out["par_early"], 2)
    _say(f"  model with SQS's receive order: seq {out['seq']:,.0f} s, par_early {out['par_early']:,.0f} s")
    return out


# ---- the backend's raw capacity: plain boto3, no API, no Lambda emulation


def raw_loop(info: dict[str, Any], events: int, groups: int, threads: int = RAW_THREADS) -> dict[str, Any]:
    """``threads`` x send_message_batch(10), then ``threads`` x receive(10) + delete_message_batch.

    On a new FIFO queue with the events queue's attributes, in the same backend, with bodies shaped
    like the pipeline's messages; one figure: events / (send time + drain time).
    """
    sqs = aws.client("sqs", info["endpoint_url"], info["region"], threads * 2)
    like = sqs.get_queue_attributes(QueueUrl=info["queue_url"], AttributeNames=["All"])["Attributes"]
    keep = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
            "VisibilityTimeout", "KmsMasterKeyId", "SqsManagedSseEnabled")
    url = sqs.create_queue(QueueName=f"bench-raw-{secrets.token_hex(3)}.fifo",
                           Attributes={k: like[k] for k in keep if k in like})["QueueUrl"]
    _say(f"  raw capacity: {events:,} events, {groups:,} groups, {threads} threads, same backend")

    def entries(start: int) -> list[dict[str, str]]:
        return [{"Id": str(i - start), "MessageGroupId": f"raw-{i % groups:06d}",
                 "MessageDeduplicationId": f"raw-{i}",
                 "MessageBody": json.dumps({"account_id": f"raw-{i % groups:06d}", "seq": i, "type": "created",
                                            "payload": {"block": i // 1000}, "received_at": time.time(),
                                            "request_id": "00000000-0000-0000-0000-000000000000"})}
                for i in range(start, min(start + 10, events))]

    starts = list(range(0, events, 10))
    failed: list[str] = []

    def send(part: list[int]) -> None:
        for start in part:
            answer = sqs.send_message_batch(QueueUrl=url, Entries=entries(start))
            failed.extend(f["Id"] for f in answer.get("Failed", []))

    lock = threading.Lock()
    deleted = [0]

    def drain() -> None:
        while True:
            with lock:
                if deleted[0] >= events:
                    return
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not messages:
                continue
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
            with lock:
                deleted[0] += len(messages)

    calls_before = call_counter.fetch(info["endpoint_url"])
    t0 = time.perf_counter()
    _threads(send, [starts[i::threads] for i in range(threads)])
    t1 = time.perf_counter()
    if failed:
        raise RuntimeError(f"raw capacity: {len(failed)} sends failed")
    _threads(lambda _: drain(), [None] * threads)
    t2 = time.perf_counter()
    calls = call_counter.per_event(call_counter.fetch(info["endpoint_url"]), calls_before, events)
    sqs.delete_queue(QueueUrl=url)
    result = {"events": events, "groups": groups, "threads": threads, "send_s": round(t1 - t0, 2),
              "drain_s": round(t2 - t1, 2), "send_eps": round(events / (t1 - t0), 1),
              "drain_eps": round(events / (t2 - t1), 1), "eps": round(events / (t2 - t0), 1),
              "calls_per_event": calls}
    _say(f"  raw: send {result['send_eps']:,.0f} ev/s, receive+delete {result['drain_eps']:,.0f} ev/s, "
         f"send+receive+delete {result['eps']:,.0f} ev/s")
    return result


def _threads(target: Any, parts: list[Any]) -> None:
    errors: list[BaseException] = []

    def guarded(part: Any) -> None:
        try:
            target(part)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(error)

    workers = [threading.Thread(target=guarded, args=(p,), daemon=True) for p in parts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


# ---- peak memory of each process, from /proc (Linux)


def peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def reset_peak_rss(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux >= 4.0), so each scenario has its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def children(module: str) -> list[int]:
    """Pids of this process's children running ``python -m module``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and module.encode() in argv:
            found.append(int(entry.name))
    return found


def peak_memory(cloud: LocalCloud) -> dict[str, Any]:
    """Peak RSS in MB of the backend, each consumer process, and this process (API + generator + verifier)."""
    def mb(pid: int) -> float | None:
        kb = peak_rss_kb(pid)
        return round(kb / 1024, 1) if kb is not None else None

    backend = children("local.backend_server")
    consumers = [mb(child.process.pid) for child in cloud.consumers]
    return {"backend": mb(backend[0]) if backend else None, "consumers": consumers,
            "consumers_total": round(sum(c for c in consumers if c), 1), "bench": mb(os.getpid())}


def cpu_used(cloud: LocalCloud, bench_before: float) -> dict[str, Any]:
    """CPU seconds each process used during the scenario (on 2 cores, 2 s of CPU per second is all there is)."""
    backend = children("local.backend_server")
    return {"backend": cpu_seconds(backend[0]) if backend else None,
            "consumers": [cpu_seconds(child.process.pid) for child in cloud.consumers],
            "bench": round(sum(os.times()[:2]) - bench_before, 1)}


# ---- summary, table, machine


def summary(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def target(name: str, value: float | None, goal: float, higher_is_better: bool = True) -> None:
        met = None if value is None else (value >= goal if higher_is_better else value <= goal)
        out[name] = {"value": value, "target": goal, "met": met}

    mission, powertools = s.get("mission"), s.get("powertools")
    if mission:
        target("mission_efficiency", mission["efficiency"], TARGET_EFFICIENCY)
    if mission and powertools and mission["makespan_s"]:
        target("speedup_vs_powertools", round(powertools["makespan_s"] / mission["makespan_s"], 2),
               TARGET_VS_POWERTOOLS)
    if powertools and powertools["lower_bound_s"]:
        # No processor finishes before the lower bound, so no processor can be more than this many
        # times faster than the baseline measured in this run: the reach of the speedup target.
        out["speedup_vs_powertools_ceiling"] = round(powertools["makespan_s"] / powertools["lower_bound_s"], 2)
    if mission and s.get("model", {}).get("available") and mission["makespan_s"]:
        out["speedup_vs_localstack_model"] = round(s["model"]["localstack"]["makespan_s"] / mission["makespan_s"], 2)
    stream, stream_pt = s.get("stream"), s.get("stream_powertools")
    if stream and stream_pt and stream["latency_ms"]["p50"]:
        out["stream_p50_latency_vs_powertools"] = round(stream_pt["latency_ms"]["p50"] / stream["latency_ms"]["p50"], 2)
        out["stream_makespan_vs_powertools"] = round(stream_pt["makespan_s"] / stream["makespan_s"], 2)
    overhead = s.get("overhead")
    if overhead and overhead.get("raw"):
        target("overhead_vs_raw", round(overhead["throughput_eps"] / overhead["raw"]["eps"], 3), TARGET_OVERHEAD)
    big, small = s.get("scale"), s.get("scale_small")
    if big:
        out["scale_completes"] = {"value": big["lost"] == 0 and big["processed"] == big["accepted"] == big["events"],
                                  "met": big["lost"] == 0 and big["processed"] == big["accepted"] == big["events"]}
    if big and small and small["peak_rss_mb"]["consumers_total"]:
        target("consumer_memory_growth", round(big["peak_rss_mb"]["consumers_total"]
                                               / small["peak_rss_mb"]["consumers_total"], 3),
               TARGET_MEMORY_GROWTH, higher_is_better=False)
    return out


def table(out: dict[str, Any]) -> str:
    s, m = out["scenarios"], out["machine"]
    lines = [f"\ninorder bench - seed {out['seed']}{' (QUICK: smoke sizes, not a measurement)' if out['quick'] else ''}"
             f" - {m['cpus']} CPUs {m['cpu_model']}, {m['ram_gb']} GB RAM, Python {m['python']}"
             f" - load {out['load_average_before'][0]:.2f} before, {out['load_average_after'][0]:.2f} after",
             "",
             "| scenario | accounts | events | t (s) | makespan (s) | lower bound (s) | efficiency "
             "| p50 / p95 / p99 latency (ms) | throughput (ev/s) | lost / dup / reordered | vs mission |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    mission = s.get("mission")

    def row(label: str, r: dict[str, Any]) -> None:
        lat = r["latency_ms"]
        ratio = (f"{r['makespan_s'] / mission['makespan_s']:.2f}x slower" if mission and r is not mission
                 and mission["makespan_s"] and r["processing_seconds"] == mission["processing_seconds"]
                 and not r.get("rate") else "")
        lines.append(f"| {label} | {r['accounts']:,} | {r['accepted']:,} | {r['processing_seconds']:g} "
                     f"| {r['makespan_s']:,.1f} | {r['lower_bound_s']:,.1f} | {r['efficiency']:.3f} "
                     f"| {lat['p50']:,.0f} / {lat['p95']:,.0f} / {lat['p99']:,.0f} | {r['throughput_eps']:,.1f} "
                     f"| {r['lost']} / {r['duplicates']} / {r['order_violations']} | {ratio} |")

    if mission:
        row("mission (this processor)", mission)
    if s.get("powertools"):
        row("Powertools SqsFifoPartialProcessor", s["powertools"])
    model_ = s.get("model", {})
    if model_.get("available"):
        ls = model_["localstack"]
        ratio = f"{ls['makespan_s'] / mission['makespan_s']:.1f}x slower" if mission and mission["makespan_s"] else ""
        lines.append(f"| LocalStack poller (MODEL, not run) | | | | {ls['makespan_s']:,.0f} "
                     f"| {model_['lower_bound_s']:,.0f} | {ls['efficiency']:.3f} | | | | {ratio} |")
    for name, label in (("stream", "stream (this processor)"), ("stream_powertools", "stream, Powertools"),
                        ("overhead", "overhead (t = 0)"), ("scale_small", "scale, fewer accounts (t = 0)"),
                        ("scale", "scale (t = 0)")):
        if s.get(name):
            row(label, s[name])
    if model_.get("available"):
        lines.append(f"\nfifo_model.py on the same workload (zero API latency, C = {model_['concurrency']}): "
                     + ", ".join(f"{k} {model_[k]['makespan_s']:,.0f} s (eff {model_[k]['efficiency']:.2f})"
                                 for k in ("seq", "par", "par_early", "localstack"))
                     + f"; bound {model_['lower_bound_s']:,.0f} s; seq / par_early "
                     + f"{model_['seq']['makespan_s'] / model_['par_early']['makespan_s']:.2f}")
    elif model_:
        lines.append(f"\nfifo_model.py not found at {model_['path']}: no figures of its own")
    if model_:
        sqs = model_["sqs_receive"]
        lines.append(f"the same model with SQS's receive order (as many messages of one group as possible): "
                     f"seq {sqs['seq']:,.0f} s, par_early {sqs['par_early']:,.0f} s; seq / par_early {sqs['ratio']:.2f}")
    overhead = s.get("overhead")
    if overhead and overhead.get("raw"):
        raw = overhead["raw"]
        lines.append(f"\noverhead: end to end {overhead['throughput_eps']:,.0f} ev/s; raw boto3 on the same backend "
                     f"{raw['eps']:,.0f} ev/s send+receive+delete (send {raw['send_eps']:,.0f}, receive+delete "
                     f"{raw['drain_eps']:,.0f}; {raw['threads']} threads); ratio "
                     f"{overhead['throughput_eps'] / raw['eps']:.2f}")
        if overhead.get("calls_per_event") and raw.get("calls_per_event"):
            lines.append(f"API calls per event: end to end {_calls(overhead['calls_per_event'])}; "
                         f"raw {_calls(raw['calls_per_event'])}")
    mem = [(n, s[n]) for n in ("mission", "powertools", "overhead", "scale_small", "scale") if s.get(n)]
    if mem:
        lines += ["", "| peak RSS (MB) | backend | consumers (each) | consumers total | bench (API + generator + verifier) |",
                  "|---|---:|---:|---:|---:|"]
        for name, r in mem:
            p = r["peak_rss_mb"]
            lines.append(f"| {name} ({r['accounts']:,} accounts, {r['accepted']:,} events) | {p['backend']} "
                         f"| {' / '.join(str(c) for c in p['consumers'])} | {p['consumers_total']} | {p['bench']} |")
    lines += ["", "targets:"]
    for name, t in out["summary"].items():
        if isinstance(t, dict):
            verdict = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
            goal = f" (target {t['target']})" if "target" in t else ""
            lines.append(f"  {name:<28} {t['value']}{goal}: {verdict}")
        else:
            lines.append(f"  {name:<28} {t}")
    return "\n".join(lines)


def _calls(per_event: dict[str, float]) -> str:
    ops = ", ".join(f"{name} {value:.2f}" for name, value in per_event.items()
                    if name != "total" and name not in call_counter.OBSERVER_READS)
    return f"{per_event['total']:.2f} ({ops})"


def machine() -> dict[str, Any]:
    model_name, ram_gb = platform.processor() or "unknown", None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model_name, "ram_gb": ram_gb,
            "python": platform.python_version(), "platform": platform.platform()}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

