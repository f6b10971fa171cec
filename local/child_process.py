"""Start a helper process of the local cloud and know for sure when it is ready, and that it stops.

The child prints one line starting with ``READY`` once it serves; its output goes to a log file,
never a pipe (a full pipe would block it). On exit the child gets SIGTERM, then SIGKILL after a
grace period - also when the body raised.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    process: subprocess.Popen[bytes]
    ready_line: str
    log_path: Path


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _ready_line(path: Path, start: int) -> str | None:
    with open(path, "rb") as handle:
        handle.seek(start)
        for line in handle.read().decode(errors="replace").splitlines():
            if line.startswith("READY"):
                return line
    return None


@contextmanager
def start_child(module: str, args: Sequence[str], log_path: Path, timeout: float = 60.0,
                grace: float = 30.0) -> Iterator[Child]:
    """Run ``python -m module args``; yield once it printed READY; stop it on exit."""
    with start_children(module, [args], [log_path], timeout, grace) as children:
        yield children[0]


@contextmanager
def start_children(module: str, arg_lists: Sequence[Sequence[str]], log_paths: Sequence[Path],
                   timeout: float = 60.0, grace: float = 30.0) -> Iterator[list[Child]]:
    """Like ``start_child`` for several at once: they start, and later stop, side by side, not in turn."""
    started: list[tuple[subprocess.Popen[bytes], Path, int]] = []
    try:
        for args, log_path in zip(arg_lists, log_paths, strict=True):
            started.append(_spawn(module, args, log_path))
        deadline = time.monotonic() + timeout
        yield [Child(process, _await_ready(module, process, log_path, start, deadline, timeout), log_path)
               for process, log_path, start in started]
    finally:
        processes = [process for process, _, _ in started]
        terminate(processes)
        for process in processes:
            stop(process, grace)


def _spawn(module: str, args: Sequence[str], log_path: Path) -> tuple[subprocess.Popen[bytes], Path, int]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        start = log.tell()
        process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    return process, log_path, start


def _await_ready(module: str, process: subprocess.Popen[bytes], log_path: Path, start: int,
                 deadline: float, timeout: float) -> str:
    while (line := _ready_line(log_path, start)) is None:
        if process.poll() is not None:
            raise RuntimeError(f"{module} exited with {process.returncode} before it was ready; "
                               f"log {log_path}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{module} not ready after {timeout:.0f} s; log {log_path}:\n{_tail(log_path)}")
        time.sleep(0.05)
    return line


def terminate(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Ask them all to stop at once, so that their own ``stop`` waits overlap rather than add up."""
    for process in processes:
        if process.poll() is None:
            process.terminate()


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
