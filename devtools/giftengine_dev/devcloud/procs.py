"""Process management for the local cloud: start in new sessions, stop whole trees.

Each component starts as the leader of its own session/process group, so one killpg
reaches its children. firebase-tools spawns its Java emulators *detached* (their own
process groups), so stopping also walks the process tree: every descendant's group is
signalled, and every process is identified by (pid, start time) so a reused pid is never
signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    start: str  # start time as `ps -o lstart` prints it: identifies the pid's owner


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None, cwd: Path | None = None) -> Proc:
    """Start `cmd` in a new session with stdout+stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        p = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return identify(p.pid) or Proc(p.pid, "")


def identify(pid: int) -> Proc | None:
    """The live process `pid` as (pid, start time), or None."""
    row = _table().get(pid)
    return Proc(pid, row.start) if row else None


@dataclass(frozen=True)
class _Row:
    pid: int
    ppid: int
    pgid: int
    stat: str
    start: str


def _table() -> dict[int, _Row]:
    # Fixed locale and zone: start times recorded by `dev up` must compare equal in `dev down`.
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,pgid=,stat=,lstart="],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5:
            pid, ppid, pgid, stat, start = parts
            rows[int(pid)] = _Row(int(pid), int(ppid), int(pgid), stat, start.strip())
    return rows


def _live(rows: dict[int, _Row], proc: Proc) -> bool:
    row = rows.get(proc.pid)
    return row is not None and row.start == proc.start and not row.stat.startswith("Z")


def alive(proc: Proc) -> bool:
    _reap(proc.pid)
    return _live(_table(), proc)


def dead(procs: Iterable[Proc]) -> set[Proc]:
    """The ones among `procs` that are no longer running (one process-table read)."""
    procs = list(procs)
    for p in procs:
        _reap(p.pid)
    rows = _table()
    return {p for p in procs if not _live(rows, p)}


def descendants(roots: Iterable[Proc]) -> list[Proc]:
    """Live processes under `roots` (roots included), identified by pid and start time."""
    rows = _table()
    children: dict[int, list[int]] = {}
    for r in rows.values():
        children.setdefault(r.ppid, []).append(r.pid)
    found: dict[int, Proc] = {}
    stack = [p.pid for p in roots if _live(rows, p)]
    while stack:
        pid = stack.pop()
        if pid in found or pid not in rows:
            continue
        found[pid] = Proc(pid, rows[pid].start)
        stack.extend(children.get(pid, []))
    return [p for p in found.values() if not rows[p.pid].stat.startswith("Z")]


def _reap(pid: int) -> None:
    """Collect an exited child of this process (pytest owns the stack it started)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _signal(procs: list[Proc], sig: int) -> None:
    rows = _table()
    groups = {rows[p.pid].pgid for p in procs if _live(rows, p)}
    for pgid in groups:
        if pgid > 1 and pgid != os.getpgrp():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
    for p in procs:
        if _live(rows, p):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p.pid, sig)


def _wait_gone(procs: list[Proc], timeout: float) -> list[Proc]:
    deadline = time.monotonic() + timeout
    while True:
        for p in procs:
            _reap(p.pid)
        rows = _table()
        left = [p for p in procs if _live(rows, p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


@dataclass
class Stopped:
    left: list[Proc]  # still alive after SIGKILL (empty on success)
    killed: list[str]  # "pid command" of the processes that ignored SIGTERM for `grace` s


def stop(roots: Iterable[Proc], known: Iterable[Proc] = (), grace: float = 10.0) -> Stopped:
    """SIGTERM every process under `roots` (plus `known` ones recorded earlier), wait,
    then SIGKILL what is left."""
    roots = list(roots)
    procs = {p.pid: p for p in [*descendants(roots), *descendants(known)]}
    targets = list(procs.values())
    if not targets:
        return Stopped([], [])
    _signal(targets, signal.SIGTERM)
    left = _wait_gone(targets, grace)
    killed: list[str] = []
    if left:
        # Children spawned after the first snapshot are picked up again here.
        left = list({p.pid: p for p in [*left, *descendants(left)]}.values())
        killed = [f"{p.pid} {_command(p.pid)}" for p in left]
        _signal(left, signal.SIGKILL)
        left = _wait_gone(left, 5.0)
    return Stopped(left, killed)


def _command(pid: int) -> str:
    out = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True)
    return out.stdout.strip()[:120]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ports_free(ports: Iterable[int], timeout: float = 10.0) -> list[int]:
    """Ports still accepting connections after `timeout` (empty when all are free)."""
    ports = list(ports)
    deadline = time.monotonic() + timeout
    while True:
        busy = [p for p in ports if port_open(p)]
        if not busy or time.monotonic() >= deadline:
            return busy
        time.sleep(0.1)


def to_json(procs: Iterable[Proc]) -> list[dict]:
    return [asdict(p) for p in procs]


def from_json(items: Iterable[dict]) -> list[Proc]:
    return [Proc(int(i["pid"]), str(i["start"])) for i in items]


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])
