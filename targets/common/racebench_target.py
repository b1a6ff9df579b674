"""What both test targets share: the launcher contract and the bug switch's settings.

Launcher contract (the same as mock-server's, so the Rust harness treats every target alike):
- the target binds 127.0.0.1 port 0 itself and hands the bound socket to its server;
- it prints exactly one line `listening on http://127.0.0.1:PORT` to stdout (flushed) once the
  server accepts connections; everything else goes to stderr;
- it exits on SIGTERM and when its stdin closes, so a test that dies never leaks it.

Bug switch (read from the environment, see targets/README.md):
- `RACEBENCH_BUG=shared-identity` turns on the second article's bug in the target;
- `RACEBENCH_BUG_WINDOW` is the pause, in milliseconds, between storing and reading back the
  caller's id (default 20); the correct twin pauses just as long;
- `RACEBENCH_BARRIER=K` makes the first K requests that reach the pause wait for each other
  (timeout `RACEBENCH_BARRIER_TIMEOUT` seconds, default 10), so a test can force the interleaving.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

BUGS = ("shared-identity",)

# Temp dirs this process made (its fresh database); removed when it exits.
_owned_dirs = []


def parse_args(description):
    """`--db PATH` (default: a fresh file in a new temp dir)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", help="SQLite database file (default: fresh, in a temp dir)")
    args = parser.parse_args()
    if args.db is None:
        owned = tempfile.mkdtemp(prefix="racebench-target-")
        _owned_dirs.append(owned)
        args.db = os.path.join(owned, "db.sqlite3")
    return args


def bind():
    """A listening TCP socket on 127.0.0.1, port chosen by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def announce(sock):
    """The one stdout line the harness waits for."""
    port = sock.getsockname()[1]
    sys.stdout.write(f"listening on http://127.0.0.1:{port}\n")
    sys.stdout.flush()


def exit_with_parent():
    """Exits when stdin closes (the test that started us is gone) or on SIGTERM."""

    def watch():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        log("stdin closed: exiting")
        leave()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: leave())


def leave():
    """Exits now, from any thread, removing the fresh database this process made."""
    for owned in _owned_dirs:
        shutil.rmtree(owned, ignore_errors=True)
    os._exit(0)


def log(message):
    sys.stderr.write(f"target: {message}\n")
    sys.stderr.flush()


class BugSwitch:
    """The bug switch's settings, and the barrier that forces the race when asked for."""

    def __init__(self, environ=os.environ):
        bug = environ.get("RACEBENCH_BUG", "").strip()
        if bug and bug not in BUGS:
            raise SystemExit(f"RACEBENCH_BUG={bug!r}: unknown bug (known: {', '.join(BUGS)})")
        self.shared_identity = bug == "shared-identity"
        self.window = int(environ.get("RACEBENCH_BUG_WINDOW", "20")) / 1000.0
        self.barrier_parties = int(environ.get("RACEBENCH_BARRIER", "0"))
        self.barrier_timeout = float(environ.get("RACEBENCH_BARRIER_TIMEOUT", "10"))
        self._arrivals = 0
        self._arrivals_lock = threading.Lock()
        self._thread_barrier = (
            threading.Barrier(self.barrier_parties, timeout=self.barrier_timeout)
            if self.barrier_parties > 1
            else None
        )
        self._async_barrier = None

    def describe(self):
        if not self.shared_identity:
            return f"correct (caller id kept per request; window {self.window * 1000:.0f} ms)"
        barrier = f", barrier {self.barrier_parties}" if self.barrier_parties > 1 else ""
        return f"RACEBENCH_BUG=shared-identity (window {self.window * 1000:.0f} ms{barrier})"

    def _takes_barrier(self):
        """True for the first K requests that reach the pause, false ever after."""
        if self.barrier_parties < 2:
            return False
        with self._arrivals_lock:
            self._arrivals += 1
            return self._arrivals <= self.barrier_parties

    def pause_sync(self):
        """The window, on a worker thread (a blocking call between store and read-back)."""
        if self._takes_barrier():
            try:
                self._thread_barrier.wait()
            except threading.BrokenBarrierError:
                log("barrier timed out: going on without it")
        if self.window > 0:
            time.sleep(self.window)

    async def pause_async(self):
        """The window, on the event loop (an await between store and read-back)."""
        if self._takes_barrier():
            if self._async_barrier is None:
                self._async_barrier = asyncio.Barrier(self.barrier_parties)
            try:
                await asyncio.wait_for(self._async_barrier.wait(), self.barrier_timeout)
            except (TimeoutError, asyncio.BrokenBarrierError):
                log("barrier timed out: going on without it")
        if self.window > 0:
            await asyncio.sleep(self.window)
