"""Run one command and record its wall time and the peak RSS of its whole process tree.

Every tool in a side-by-side is measured by this one helper, so that time and memory mean the
same thing for all of them: wall seconds from launch to exit, and the highest sum of resident
set sizes over the process and all its descendants, sampled every 0.1 s with psutil. Summing
over the tree matters because some tools fork workers (joblib, DataLoader) whose memory a
``getrusage`` of the parent alone would miss. Shared pages are counted once per process, so the
figure is an upper bound, the same kind of bound for every tool.

Runs inside ``.bench-venv`` (psutil lives there, not in the project's ``.venv``)::

    .bench-venv/bin/python benchmarks/measure.py --json m.json [--log run.log] -- CMD [ARGS...]

The exit status is the command's own; the JSON holds ``returncode``, ``wall_seconds``,
``peak_rss_mb`` (MiB, 2**20 bytes), ``cpu_seconds`` and ``other_busy_cores``.

Wall time is only comparable between runs on an otherwise idle machine, so two more figures
say how far to trust it: ``cpu_seconds`` (user + system time of the whole tree, which other
load barely changes) and ``other_busy_cores`` (the average number of cores that something
else kept busy during the run: system-wide busy time minus the tree's own, over wall time).

Without psutil (the test suite's smoke run, which has only the project's ``.venv``) the figures
are coarser: peak RSS is the largest single descendant's (``getrusage``), not the tree's sum,
and ``other_busy_cores`` is unknown (None). Real benchmark runs always have psutil.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import psutil
except ImportError:  # only the smoke test runs without .bench-venv; see _measure_plain
    psutil = None

POLL_SECONDS = 0.1
MIB = 2**20


@dataclass(frozen=True)
class Measurement:
    """What one measured run produced."""

    command: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    other_busy_cores: float | None
    samples: int
    timed_out: bool
    priority: str


def tree_rss_bytes(root: psutil.Process) -> int:
    """Sum the RSS of ``root`` and every descendant that is still alive at this instant."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def _system_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def _self_cpu_seconds() -> float:
    """CPU seconds of this measuring process (its polling is not "something else")."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu_seconds() -> float:
    """User + system seconds of every descendant this process has reaped so far.

    Grandchildren count too once their parents have waited for them, which is how a tool's
    worker processes end; a worker left unreaped would be missed (and shows up in
    ``other_busy_cores`` instead).
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kill_tree(root: psutil.Process) -> None:
    """Kill the command and its descendants (children first), ignoring those already gone."""
    try:
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


def _prioritise(nice: int) -> None:
    """In the child, before exec: raise its CPU priority over other sessions' work.

    The child runs in a session of its own (``start_new_session``), and Linux schedules
    sessions as autogroups that share the CPU fairly whatever their members' nice values, so
    a plain ``nice`` would not help against a busy neighbour; the autogroup's own nice does.
    Both need root (or CAP_SYS_NICE) for negative values; without it they are skipped.
    """
    with contextlib.suppress(OSError):
        os.nice(nice)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as fh:
        fh.write(str(nice))


def _priority_of(pid: int, nice: int) -> str:
    """What priority the child actually got, for the record."""
    if nice == 0:
        return "default"
    try:
        got = os.getpriority(os.PRIO_PROCESS, pid)
    except OSError:
        return "unknown"
    group = Path(f"/proc/{pid}/autogroup")
    group_text = group.read_text().strip() if group.is_file() else ""
    return f"nice {got}; {group_text}" if group_text else f"nice {got}"


def measure(
    command: list[str],
    *,
    log_path: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    nice: int = 0,
) -> Measurement:
    """Run ``command`` to completion, polling the tree's RSS every 0.1 s.

    ``proc.wait(timeout=0.1)`` doubles as the sleep, so the wall time ends when the command
    exits rather than at the next polling tick. With ``nice`` != 0 the command runs in its own
    session at that priority (see ``_prioritise``): on a shared machine a negative value keeps
    other users' work from inflating the wall time; on an idle one it changes nothing.
    """
    if psutil is None:
        return _measure_plain(command, log_path=log_path, cwd=cwd, env=env, timeout=timeout)
    log_file = log_path.open("wb") if log_path is not None else None
    busy_before, self_before = _system_busy_seconds(), _self_cpu_seconds()
    cpu_before = _children_cpu_seconds()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file is not None else None,
            cwd=cwd,
            env=env,
            start_new_session=nice != 0,
            preexec_fn=(lambda: _prioritise(nice)) if nice != 0 else None,
        )
        root = psutil.Process(proc.pid)
        priority = _priority_of(proc.pid, nice)
        peak, samples, timed_out = 0, 0, False
        try:
            while True:
                peak = max(peak, tree_rss_bytes(root))
                samples += 1
                try:
                    proc.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if timeout is not None and time.perf_counter() - start > timeout:
                    timed_out = True
                    _kill_tree(root)
                    proc.wait()
                    break
        except KeyboardInterrupt:
            # In its own session the command does not see the terminal's Ctrl-C; pass it on.
            _kill_tree(root)
            proc.wait()
            raise
        wall = time.perf_counter() - start
    finally:
        if log_file is not None:
            log_file.close()
    tree_cpu = _children_cpu_seconds() - cpu_before
    own = tree_cpu + _self_cpu_seconds() - self_before
    other_busy = max(0.0, _system_busy_seconds() - busy_before - own)
    return Measurement(
        command=list(command),
        returncode=proc.returncode,
        wall_seconds=round(wall, 3),
        peak_rss_mb=round(peak / MIB, 1),
        cpu_seconds=round(tree_cpu, 2),
        other_busy_cores=round(other_busy / wall, 2) if wall > 0 else 0.0,
        samples=samples,
        timed_out=timed_out,
        priority=priority,
    )


def _measure_plain(
    command: list[str],
    *,
    log_path: Path | None,
    cwd: Path | None,
    env: dict[str, str] | None,
    timeout: float | None,
) -> Measurement:
    """Standard-library fallback: wall time, CPU time and the largest child's peak RSS."""
    cpu_before = _children_cpu_seconds()
    timed_out = False
    with open(log_path if log_path is not None else os.devnull, "wb") as log_file:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd, env=env
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Measurement(
        command=list(command),
        returncode=proc.returncode,
        wall_seconds=round(wall, 3),
        peak_rss_mb=round(peak_kib / 1024, 1),
        cpu_seconds=round(_children_cpu_seconds() - cpu_before, 2),
        other_busy_cores=None,
        samples=0,
        timed_out=timed_out,
        priority="default (no psutil: largest child's peak RSS, not the tree's)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run a command; record wall seconds and peak RSS of its process tree.",
        usage="%(prog)s [--json PATH] [--log PATH] [--timeout S] -- COMMAND [ARGS...]",
    )
    parser.add_argument("--json", type=Path, help="write the measurement here as JSON")
    parser.add_argument("--log", type=Path, help="send the command's stdout and stderr here")
    parser.add_argument("--timeout", type=float, help="kill the command after this many seconds")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the command in its own session at this nice value (negative needs root)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    result = measure(command, log_path=args.log, timeout=args.timeout, nice=args.nice)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    print(
        f"[measure] rc={result.returncode} wall={result.wall_seconds:.1f}s "
        f"peak_rss={result.peak_rss_mb:.0f} MiB cpu={result.cpu_seconds:.1f}s "
        f"other_busy={result.other_busy_cores} cores ({result.samples} samples)",
        file=sys.stderr,
    )
    if result.timed_out:
        return 124
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
