"""``local.child_process``: children start side by side, each is known ready, and none outlives its block."""
from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from local import child_process
from local.child_process import start_children

CHILD = textwrap.dedent("""
    import sys, time
    name, mode = sys.argv[1], sys.argv[2]
    if mode == "fail":
        print("no luck", flush=True)
        sys.exit(3)
    time.sleep(float(mode))
    print(f"READY {name}", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def child_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "fake_child.py").write_text(CHILD)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return "fake_child"


def test_each_child_gets_its_own_ready_line_and_all_stop_on_exit(child_module: str, tmp_path: Path) -> None:
    logs = [tmp_path / f"c{i}.log" for i in range(3)]
    with start_children(child_module, [[f"c{i}", "0.2"] for i in range(3)], logs, timeout=30) as children:
        assert [child.ready_line for child in children] == ["READY c0", "READY c1", "READY c2"]
        assert all(child.process.poll() is None for child in children)
    assert all(child.process.poll() is not None for child in children)


def test_a_child_that_dies_before_ready_fails_the_start_and_stops_the_others(
        child_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[subprocess.Popen[bytes]] = []

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        spawned.append(real_popen(*args, **kwargs))
        return spawned[-1]

    real_popen = subprocess.Popen
    monkeypatch.setattr(child_process.subprocess, "Popen", recording_popen)
    logs = [tmp_path / "good.log", tmp_path / "bad.log"]
    with pytest.raises(RuntimeError, match=r"exited with 3 before it was ready(.|\n)*no luck"):
        with start_children(child_module, [["good", "0"], ["bad", "fail"]], logs, timeout=30):
            pytest.fail("a start with a failed child must not yield")
    assert len(spawned) == 2 and all(process.poll() is not None for process in spawned)
