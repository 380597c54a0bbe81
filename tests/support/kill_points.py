"""Kill a real job run with SIGKILL at chosen points, re-run it, and compare with a clean run.

Every job promises that `kill -9` at any moment followed by a re-run gives the output of an
uninterrupted run. `kill_rerun_compare` checks that promise for one job:

    seed = fault_seed()                        # printed; FAULT_SEED=<n> replays a failure
    clean = run_to_completion(job)             # the reference, and how long a run takes
    for point in plan_kill_points(random.Random(seed), ...):   # >= FAULT_KILLS (5) that land
        shot = kill_at(job_in_a_fresh_folder, point, progress=...)
        run_to_completion(job_in_that_folder)  # the re-run must finish the work
        compare(that_folder, reference)

Kill points come in two kinds, so they land all over a run: `after` a random fraction of the
measured runtime (start-up, reading, writing, the final atomic rewrite), and `at_progress`
once the job's output has grown to a random fraction of its final size (between two writes
that a time alone rarely hits). The job runs in a session of its own and the whole process
group is killed, so pool workers die with their coordinator, as they do when a machine stops.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED_ENV = "FAULT_SEED"
KILLS_ENV = "FAULT_KILLS"
DEFAULT_KILLS = 5


def fault_seed() -> int:
    """The seed of this test run: $FAULT_SEED when set (to replay a failure), else a fresh one.
    Printed, so pytest shows it next to any failure."""
    raw = os.environ.get(SEED_ENV)
    seed = int(raw) if raw else random.randrange(1_000_000)
    print(f"fault-injection seed: {seed} (replay with {SEED_ENV}={seed})")
    return seed


def wanted_kills() -> int:
    """How many kill points a test must land ($FAULT_KILLS raises it for a longer soak)."""
    return max(DEFAULT_KILLS, int(os.environ.get(KILLS_ENV, DEFAULT_KILLS)))


@dataclass(frozen=True)
class Job:
    """One CLI invocation: `python -m <module> <args>` from the repo root."""

    module: str
    args: Sequence[object]
    env: dict[str, str]
    cwd: Path = REPO

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.module, *map(str, self.args)]


def job_env(**extra: object) -> dict[str, str]:
    """This environment without a developer's provider settings, plus `extra`."""
    prefixes = ("LLM_", "OPENAI_", "EMBEDDING_", "CHROMA_", "RAG_", "OCR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass(frozen=True)
class Finished:
    returncode: int
    seconds: float
    stderr: str


def run_to_completion(job: Job, timeout: float = 180) -> Finished:
    started = time.monotonic()
    done = subprocess.run(job.argv, cwd=job.cwd, env=job.env, capture_output=True, text=True, timeout=timeout)
    return Finished(done.returncode, time.monotonic() - started, done.stderr)


@dataclass(frozen=True)
class KillPoint:
    """When to kill: `after` seconds from the start, or once progress() >= `at_progress`."""

    after: float | None = None
    at_progress: float | None = None

    def __str__(self) -> str:
        if self.after is not None:
            return f"after {self.after:.2f}s"
        return f"at progress {self.at_progress:g}"


def plan_kill_points(
    rng: random.Random, *, runtime: float, final_progress: float, count: int | None = None
) -> Iterator[KillPoint]:
    """Endless kill points, alternating by time and by progress. The first `count` are
    stratified (the k-th lies in the k-th slice of the run) so they spread over the whole run;
    later ones, used only when some point fell after a run had already finished, are uniform."""
    count = count or wanted_kills()
    index = 0
    while True:
        if index < count:
            fraction = (index + rng.random()) / count
        else:
            fraction = rng.random()
        fraction = min(max(fraction, 0.02), 0.97)
        if index % 2 == 0:
            yield KillPoint(after=round(fraction * runtime, 3))
        else:
            yield KillPoint(at_progress=max(1.0, round(fraction * final_progress)))
        index += 1


@dataclass(frozen=True)
class Shot:
    point: KillPoint
    killed: bool  # False: the run had already finished when the point came
    at_seconds: float
    progress: float
    returncode: int | None


def start(job: Job, *, capture: bool = False) -> subprocess.Popen:
    """The job in a session of its own (so `kill_group` takes its pool workers down too);
    with `capture`, its stdout and stderr are pipes (text) for `communicate()`."""
    sink = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(job.argv, cwd=job.cwd, env=job.env, stdout=sink, stderr=sink, text=capture,
                            start_new_session=True)


def kill_at(job: Job, point: KillPoint, progress: Callable[[], float], timeout: float = 120) -> Shot:
    """Start the job, wait for the kill point, SIGKILL its whole process group."""
    process = start(job)
    started = time.monotonic()
    deadline = started + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            now = time.monotonic() - started
            if point.after is not None and now >= point.after:
                break
            if point.at_progress is not None and _safe(progress) >= point.at_progress:
                break
            time.sleep(0.005)
        killed = process.poll() is None
        at, reached = time.monotonic() - started, _safe(progress)
        if killed:
            kill_group(process)
        else:
            process.wait()
    finally:
        if process.poll() is None:
            kill_group(process)
    return Shot(point, killed, at, reached, None if killed else process.returncode)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its session, then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.stdout or process.stderr:
        process.communicate()  # also closes the pipes
    else:
        process.wait()


def _safe(progress: Callable[[], float]) -> float:
    """Progress is read while the job writes: a half-written or locked file counts as no news."""
    try:
        return float(progress())
    except Exception:
        return -1.0


# -- the whole check ---------------------------------------------------------------------------
MAX_EXTRA_POINTS = 4  # points that fell after a run had finished are replaced, this many times


def kill_rerun_compare(
    tmp_path: Path,
    make_job: Callable[[Path], Job],
    progress_of: Callable[[Path], Callable[[], float]],
    compare: Callable[[Path, Path], None],
    torn: Callable[[Path], Path] | None = None,
) -> list[Shot]:
    """Run once uninterrupted (the reference), then for each kill point: a fresh folder, a run
    killed at that point, a re-run that must succeed, and `compare(folder, reference)`."""
    seed = fault_seed()
    rng = random.Random(seed)
    reference = tmp_path / "reference"
    clean = run_to_completion(make_job(reference))
    assert clean.returncode == 0, clean.stderr[-3000:]
    final = progress_of(reference)()
    points = plan_kill_points(rng, runtime=clean.seconds, final_progress=final)
    shots: list[Shot] = []
    for index in range(wanted_kills() + MAX_EXTRA_POINTS):
        if sum(s.killed for s in shots) >= wanted_kills():
            break
        work = tmp_path / f"kill_{index}"
        job = make_job(work)
        shot = kill_at(job, next(points), progress_of(work))
        shots.append(shot)
        print(f"  {shot.point}: {'killed' if shot.killed else 'finished first'} at {shot.at_seconds:.2f}s, "
              f"progress {shot.progress:g}/{final:g}")
        if shot.killed and torn is not None and index % 2:
            tear_tail(torn(work), b'{"id": "torn by the kill", "partial')
        rerun = run_to_completion(job)
        context = f"seed {seed}, killed {shot.point}"
        assert rerun.returncode == 0, f"{context}: {rerun.stderr[-3000:]}"
        try:
            compare(work, reference)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc
    killed = [s for s in shots if s.killed]
    assert len(killed) >= wanted_kills(), f"seed {seed}: only {len(killed)} kill(s) landed: {shots}"
    print(f"reference run {clean.seconds:.2f}s; kills at " + ", ".join(f"{s.at_seconds:.2f}s" for s in killed))
    return shots


# -- progress probes ---------------------------------------------------------------------------
def line_count(path: Path) -> Callable[[], int]:
    """Whole lines in an append-only file (a torn last line does not count)."""

    def count() -> int:
        try:
            return path.read_bytes().count(b"\n")
        except FileNotFoundError:
            return 0

    return count


def tree_bytes(folder: Path) -> Callable[[], int]:
    """Total size of the files under a folder (a store grows as it is written)."""

    def size() -> int:
        total = 0
        for root, _, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    pass
        return total

    return size


def tear_tail(path: Path, fragment: bytes) -> None:
    """Leave what a kill in the middle of an append would: a last line without its newline."""
    if path.exists():
        with open(path, "ab") as stream:
            stream.write(fragment)
