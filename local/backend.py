"""Start ``local.backend_server`` (patched moto) in a child process for tests and tools."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Backend:
    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _log_tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


@contextmanager
def start_backend(log_path: str | os.PathLike[str] | None = None, timeout: float = 30.0,
                  extra_args: Sequence[str] = ()) -> Iterator[Backend]:
    """Run the backend server on a free 127.0.0.1 port; terminate it on exit (also on error).

    The child's stdout+stderr go to ``log_path`` (default: a temp file), never to a pipe, so
    they can't fill up; the READY line is read back from that file.
    """
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="inorder-backend-", suffix=".log")
        os.close(fd)
        log_path = name
    path = Path(log_path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    with open(path, "ab") as log:
        start = log.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.backend_server", "--port", "0",
             "--host", "127.0.0.1", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=_REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            with open(path, "rb") as f:
                f.seek(start)
                for line in f.read().decode(errors="replace").splitlines():
                    if line.startswith("READY "):
                        url = line.split(" ", 1)[1].strip()
                        break
            if url is None:
                if proc.poll() is not None:
                    raise RuntimeError(f"backend server exited with {proc.returncode} before "
                                       f"READY; log {path}:\n{_log_tail(path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"backend server not READY after {timeout}s; "
                                       f"log {path}:\n{_log_tail(path)}")
                time.sleep(0.05)
        yield Backend(endpoint_url=url, process=proc, log_path=path)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
