"""Several server processes behind one port (`--workers N`): the parent forks N workers, each of which binds the
port itself with SO_REUSEPORT so that the kernel spreads new connections across them; the parent forwards
SIGINT and SIGTERM to them and waits. The simulation is deterministic, so the workers serve identical data
without talking to each other.

The first worker starts alone: the others are forked once it listens, so that a start-up failure (a setting
the feed refuses, a port taken meanwhile) is said once, by it, not once per worker. The parent logs "N workers
listening" once they all are. A worker dies with the
parent (Linux's parent-death signal): a parent killed with SIGKILL leaves no orphans serving the port.

Imports nothing of app: it is given the worker to run. Forking (not spawning) runs the same code whether the
server was started as `trading-pro`, `python -m app` or the one file. Linux (SO_REUSEPORT, prctl) only.
"""

from __future__ import annotations

import ctypes
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
# Each worker holds its own simulation and caches (about 100 MB each) and its own descriptors; past the cores
# of a large machine more workers only add switching (two on one core were slower than one, bench/workers.py).
MAX_WORKERS = 64
# prctl(2): the signal a process gets when the thread that forked it dies.
PR_SET_PDEATHSIG = 1

# A worker's way to tell the parent it listens: called once, after its socket is bound.
Ready = Callable[[], None]


def _die_with(parent: int) -> None:
    """In a worker: get SIGTERM (a graceful stop) when `parent` dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died before the call: then no signal comes, and we are already an orphan.
    if os.getppid() != parent:
        os._exit(1)


def _run_child(worker: Callable[[Ready], None], parent: int, ready_fd: int) -> None:
    """In a forked worker: run `worker` and leave with its status, never returning into the parent's code."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    status = 0

    def ready() -> None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)

    try:
        _die_with(parent)
        worker(ready)
    except SystemExit as leaving:
        if isinstance(leaving.code, str):
            print(leaving.code, file=sys.stderr)
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


class _Group:
    """The parent's view of its workers: fork them, forward stop signals, reap them."""

    def __init__(self, worker: Callable[[Ready], None]) -> None:
        self.worker = worker
        self.children: set[int] = set()
        self.stopping = False
        self.failed = False

    def stop_all(self, signum: int, _frame: FrameType | None = None) -> None:
        self.stopping = True
        for pid in self.children:
            os.kill(pid, signum)

    def fork(self) -> int:
        """Fork one worker; the pipe end that tells when it listens (see `listens`)."""
        read_fd, write_fd = os.pipe()
        # Held back while forking, so that a stop cannot miss a worker forked after it; delivered just after.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            try:
                pid = os.fork()
            except OSError:
                os.close(read_fd)
                raise
            if pid == 0:
                os.close(read_fd)
                _run_child(self.worker, os.getppid(), write_fd)
            self.children.add(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            os.close(write_fd)
        return read_fd

    @staticmethod
    def listens(read_fd: int) -> bool:
        """Wait until the worker behind `read_fd` listens (one byte) or exits first (end of file)."""
        with os.fdopen(read_fd, "rb") as from_child:
            return from_child.read(1) == b"1"

    def reap(self) -> None:
        """Wait for every worker; a failure or an unasked exit stops the others (and is logged, unless the
        group already failed: the first worker's start-up failure is said by the worker alone)."""
        while self.children:
            pid, status = os.wait()
            self.children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            # A worker stopped before it took over the signals dies of the signal itself: a clean stop too.
            if not self.stopping or code not in (0, -signal.SIGINT, -signal.SIGTERM):
                if not self.failed:
                    log.error("worker %d exited with %d%s", pid, code, "" if self.stopping else "; stopping the others")
                self.failed = True
                if not self.stopping:
                    self.stop_all(signal.SIGTERM)


def run_workers(count: int, worker: Callable[[Ready], None]) -> int:
    """Fork `count` processes that each run `worker` (which calls its `Ready` argument once it listens); wait
    for all of them. The exit status for the parent: 0 when every worker stopped cleanly after SIGINT or
    SIGTERM; 1 when one failed, exited unasked, or could not be forked (then the others are stopped too and
    waited for, and a supervisor restarts the whole group)."""
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"workers must be 1 to {MAX_WORKERS}, not {count}")
    group = _Group(worker)
    previous = {signum: signal.signal(signum, group.stop_all) for signum in STOP_SIGNALS}
    try:
        try:
            if not group.listens(group.fork()):
                # The first worker exited before it listened, having said why: no more words, no more workers.
                group.failed = not group.stopping
            else:
                others = [group.fork() for _ in range(count - 1) if not group.stopping]
                # Every pipe read (and closed), even after one worker failed.
                listening = [group.listens(read_fd) for read_fd in others]
                if all(listening) and not group.stopping:
                    log.info("%d workers listening: %s", count, ", ".join(map(str, sorted(group.children))))
        except OSError as error:
            log.error("cannot start a worker (%s); stopping the %d started", error, len(group.children))
            group.failed = True
            group.stop_all(signal.SIGTERM)
        group.reap()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if group.failed else 0
