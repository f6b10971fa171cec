"""Serve moto (with ``local.moto_patch`` applied) on a local port for other processes.

Usage: ``python -m local.backend_server --port P [--host 127.0.0.1] [--no-patch] [--no-fast-path]``.
Port 0 picks a free port. Once listening, prints exactly one line ``READY http://HOST:PORT``
(flushed) so a parent can learn the port; exits on SIGTERM/SIGINT.

moto's own server (werkzeug, a thread per connection) collapses under hundreds of concurrent
connections: every thread fights for the interpreter lock. waitress multiplexes connections on
one I/O thread and runs requests on a fixed pool, wide enough that long polls (which hold a
worker while they wait) never starve the other requests. ``local.fast_path.FastPath`` serves
the pipeline's hot SQS/DynamoDB calls without moto's per-request framework overhead
(``--no-fast-path`` turns it off, for comparisons). ``local.call_counter`` counts the calls
served, for the benchmark's calls-per-event figures.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.server import create_server

from local.call_counter import CallCounter

WORKER_THREADS = 64
CONNECTION_LIMIT = 4000


def _cache_module_list() -> None:
    """moto lists its package directory on disk for every request, under a global lock.

    The list never changes while the server runs; reading it once takes a filesystem scan and a
    serialisation point off every request.
    """
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def _cache_method_names() -> None:
    """moto lists a response class's methods with ``inspect.getmembers`` on every request."""
    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--no-patch", action="store_true", help="serve moto unpatched (only for comparisons)")
    ap.add_argument("--no-fast-path", action="store_true",
                    help="send every request through moto's app (only for comparisons)")
    args = ap.parse_args(argv)
    if not args.no_patch:
        from local import moto_patch

        moto_patch.apply()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" under load
    _cache_module_list()
    _cache_method_names()
    app = DomainDispatcherApplication(create_backend_app)
    if not args.no_fast_path:
        from local.fast_path import FastPath

        app = FastPath(app)
    app = CallCounter(app)
    server = create_server(app, host=args.host, port=args.port,
                           threads=WORKER_THREADS, connection_limit=CONNECTION_LIMIT, backlog=2048,
                           channel_timeout=300, asyncore_use_poll=True)  # select() stops at fd 1024
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.run, name="moto-server", daemon=True)
    thread.start()
    print(f"READY http://{args.host}:{server.effective_port}", flush=True)
    while not stop.wait(0.5):
        if not thread.is_alive():
            return 1
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
