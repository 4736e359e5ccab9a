"""Several server processes behind one port (`--workers N`): the parent forks N workers, each of which binds the
port itself with SO_REUSEPORT so that the kernel spreads new connections across them; the parent forwards
SIGINT and SIGTERM to them and waits. The simulation is deterministic, so the workers serve identical data
without talking to each other.

Imports nothing of app: it is given the worker to run. Forking (not spawning) runs the same code whether the
server was started as `trading-pro`, `python -m app` or the one file. Linux (SO_REUSEPORT) only.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)
# prometheus-client's multiprocess mode: every worker writes its figures under this directory and a scrape of
# any worker reads them all. It must be set before the workers import prometheus_client.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _run_child(worker: Callable[[], None]) -> None:
    """In a forked worker: run `worker` and leave with its status, never returning into the parent's code."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    status = 0
    try:
        worker()
    except SystemExit as leaving:
        status = leaving.code if isinstance(leaving.code, int) else 1
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # The parent's cleanup (atexit, the metrics directory) is the parent's alone.
        os._exit(status)


@contextmanager
def shared_metrics_dir() -> Iterator[None]:
    """Within: METRICS_DIR_VARIABLE names a directory for the workers' metrics; unless it was already set, an
    empty temporary one that is removed on leaving. Entered before the settings are read, which include it."""
    if os.environ.get(METRICS_DIR_VARIABLE):
        yield
        return
    made_dir = tempfile.mkdtemp(prefix="trading-pro-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = made_dir
    try:
        yield
    finally:
        del os.environ[METRICS_DIR_VARIABLE]
        shutil.rmtree(made_dir, ignore_errors=True)


def run_workers(count: int, worker: Callable[[], None]) -> int:
    """Fork `count` processes that each run `worker`; wait for all of them. The exit status for the parent: 0
    when every worker stopped cleanly after SIGINT or SIGTERM; 1 when one failed or exited unasked (then the
    others are stopped too, and a supervisor restarts the whole group)."""
    children: set[int] = set()
    stopping = False

    def stop_all(signum: int, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signum)

    previous = {signum: signal.signal(signum, stop_all) for signum in STOP_SIGNALS}
    failed = False
    try:
        # Held back while forking, so that a stop cannot miss a worker forked after it; delivered just after.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for _ in range(count):
                pid = os.fork()
                if pid == 0:
                    _run_child(worker)
                children.add(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        log.info("started %d workers: %s", count, ", ".join(map(str, sorted(children))))
        while children:
            pid, status = os.wait()
            children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            # A worker stopped before it took over the signals dies of the signal itself: a clean stop too.
            if not stopping or code not in (0, -signal.SIGINT, -signal.SIGTERM):
                failed = True
                log.error("worker %d exited with %d%s", pid, code, "" if stopping else "; stopping the others")
                if not stopping:
                    stop_all(signal.SIGTERM)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if failed else 0
