"""The workload: random blocks of at most 1,000 events, runs of 1-5 per account, repeatable by seed."""
from __future__ import annotations

from collections import defaultdict

from local.generator import MAX_BLOCK, plan


def test_blocks_and_runs_follow_the_mission() -> None:
    workload = plan(accounts=1000, events=10_000, seed=7)
    assert sum(len(b) for b in workload.blocks) == 10_000
    last: dict[str, int] = defaultdict(int)
    for block in workload.blocks:
        assert 1 <= len(block) <= MAX_BLOCK
        runs: dict[str, list[int]] = defaultdict(list)
        for event in block:
            runs[event["account_id"]].append(event["seq"])
        for account, seqs in runs.items():
            assert 1 <= len(seqs) <= 5, "one run of 1-5 events per account in a block"
            assert seqs == list(range(last[account] + 1, last[account] + 1 + len(seqs))), "consecutive seqs"
            last[account] = seqs[-1]
    assert len(last) > 900


def test_a_seed_makes_a_run_repeatable() -> None:
    assert plan(100, 500, seed=3).blocks == plan(100, 500, seed=3).blocks
    assert plan(100, 500, seed=3).blocks != plan(100, 500, seed=4).blocks


def test_a_rate_spreads_the_intended_send_times() -> None:
    workload = plan(10, 100, seed=1, rate=50.0)
    times = [workload.intended[(e["account_id"], e["seq"])] for b in workload.blocks for e in b]
    assert times == [i / 50.0 for i in range(100)]
    assert set(plan(10, 100, seed=1).intended.values()) == {0.0}
