"""``python -m local bench --quick``: the real code path on tiny workloads, and the JSON it writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT_KEYS = {"accepted", "processed", "lost", "duplicates", "order_violations", "dlq", "retries", "makespan_s",
               "lower_bound_s", "efficiency", "throughput_eps", "latency_ms"}
MEASURED = ("mission", "powertools", "overhead", "scale_small", "scale")


def test_quick_bench_runs_every_scenario_and_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    done = subprocess.run([sys.executable, "-m", "local", "bench", "--quick", "--json", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "| mission (this processor) |" in done.stdout
    bench = json.loads(out.read_text())
    assert bench["quick"] is True and bench["seed"] == 0
    assert {"cpus", "cpu_model", "ram_gb", "python"} <= set(bench["machine"])
    scenarios = bench["scenarios"]
    for name in MEASURED:
        run = scenarios[name]
        assert REPORT_KEYS <= set(run), name
        assert run["accepted"] == run["processed"] == run["events"] > 0, name
        assert run["lost"] == run["duplicates"] == run["order_violations"] == run["dlq"] == 0, name
        assert run["makespan_s"] > 0 and run["throughput_eps"] > 0, name
        assert run["peak_rss_mb"]["backend"] > 0 and run["peak_rss_mb"]["bench"] > 0, name
        assert len(run["peak_rss_mb"]["consumers"]) >= 1 and all(c > 0 for c in run["peak_rss_mb"]["consumers"])
    assert scenarios["powertools"]["handler"].startswith("local.baselines.powertools_processor")
    assert 0 < scenarios["mission"]["efficiency"] <= 1.0
    assert scenarios["mission"]["lower_bound_s"] > 0
    raw = scenarios["overhead"]["raw"]
    assert raw["events"] == scenarios["overhead"]["events"] and raw["eps"] > 0
    # Every event is sent, received, stored and deleted: at least a tenth of a call each (batches of ten).
    calls = scenarios["overhead"]["calls_per_event"]
    assert {"SendMessageBatch", "ReceiveMessage", "BatchExecuteStatement", "DeleteMessageBatch"} <= set(calls)
    assert all(calls[op] >= 0.1 for op in ("SendMessageBatch", "ReceiveMessage", "BatchExecuteStatement"))
    assert calls["total"] < sum(v for k, v in calls.items() if k != "total")  # the verifier's Scan is left out
    assert raw["calls_per_event"]["SendMessageBatch"] == 0.1 and raw["calls_per_event"]["total"] >= 0.3
    if scenarios["model"]["available"]:  # shared/tools/fifo_model.py beside the repo
        for strategy in ("seq", "par", "par_early", "localstack"):
            assert scenarios["model"][strategy]["makespan_s"] > 0
    summary = bench["summary"]
    assert {"mission_efficiency", "speedup_vs_powertools", "overhead_vs_raw", "scale_completes",
            "consumer_memory_growth"} <= set(summary)
    assert summary["scale_completes"]["met"] is True
    powertools = bench["scenarios"]["powertools"]
    assert summary["speedup_vs_powertools_ceiling"] == round(powertools["makespan_s"] / powertools["lower_bound_s"], 2)
    assert summary["speedup_vs_powertools"]["value"] <= summary["speedup_vs_powertools_ceiling"] + 0.01
