"""Start the embedded backend (``local.backend_server``: patched moto) in a child process."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from local.child_process import start_child


@dataclass
class Backend:
    endpoint_url: str
    process: Popen[bytes]
    log_path: Path


@contextmanager
def start_backend(log_path: str | os.PathLike[str] | None = None, timeout: float = 30.0,
                  extra_args: Sequence[str] = ()) -> Iterator[Backend]:
    """Run the backend server on a free 127.0.0.1 port; stop it on exit (also on error).

    Its output goes to ``log_path`` (default: a temp file), never to a pipe that could fill up.
    """
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="inorder-backend-", suffix=".log")
        os.close(fd)
    args = ["--port", "0", "--host", "127.0.0.1", *extra_args]
    with start_child("local.backend_server", args, Path(log_path), timeout=timeout, grace=5.0) as child:
        yield Backend(child.ready_line.split(" ", 1)[1].strip(), child.process, child.log_path)
