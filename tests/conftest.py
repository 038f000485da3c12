import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def prism_nb(*args, cwd=ROOT, timeout=600, env=None):
    "Run the `prism-nb` command of this environment and return the completed process."
    return subprocess.run(
        [str(BIN / "prism-nb"), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def python_child(*args, **kw) -> subprocess.Popen:
    "A Python process running `args` (a script or `-c CODE`, then arguments), the project importable, output piped."
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, env=env, **out, **kw)


@pytest.fixture
def peter_records():
    "Thirty PETER review records over 5 users and 7 items, with a 20/5/5 split."
    recs = [
        {
            "user": f"u{i % 5}",
            "item": f"i{i % 7}",
            "rating": 1 + i % 5,
            "predicted": "",
            "template": (f"feat{i % 4}", "nice", f"the feat{i % 4} is nice", 1),
        }
        for i in range(30)
    ]
    return recs, {"train": list(range(20)), "validation": list(range(20, 25)), "test": list(range(25, 30))}


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    "One finished `prism-nb run --profile smoke` (every stage through papermill), made once for the tests that copy it."
    run = tmp_path_factory.mktemp("smoke") / "run"
    r = prism_nb("run", "--profile", "smoke", "--run-dir", run)
    assert r.returncode == 0, r.stderr[-2000:]
    return run


def copy_run(src, dst):
    "A copy of a run folder (every path in it is relative, so the copy is a run of its own)."
    shutil.copytree(src, dst, symlinks=True)
    return dst


def lines(path) -> int:
    "The lines of a file written so far (0 before it exists)."
    return path.read_text().count("\n") if path.is_file() else 0


def wait_for(cond, proc, what, timeout=180):
    "Poll `cond` until it holds; fail if `proc` ends first (with its output) or `timeout` seconds pass."
    t0 = time.time()
    while not cond():
        assert proc.poll() is None, f"the process ended before {what}:\n{proc.stdout.read()[-3000:]}"
        assert time.time() - t0 < timeout, f"no {what} within {timeout} s"
        time.sleep(0.05)


def processes(word: str) -> list:
    "The processes whose command line holds `word` (Ray names an actor's process after its class)."
    import psutil

    return [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if word in " ".join(p.info["cmdline"] or [p.info["name"] or ""])
    ]


def kill_an_actor_then_the_driver(proc, written, actors, more: int) -> dict:
    "SIGKILL a Ray actor after 3 lines in `written`; once Ray replaced it and `more` lines came, the driver's group."
    try:
        wait_for(lambda: lines(written) >= 3 and len(actors()) == 2, proc, "3 lines from 2 actors")
        victim = actors()[0]
        victim.kill()
        at_actor_kill = lines(written)
        wait_for(
            lambda: len(actors()) == 2 and victim.pid not in [a.pid for a in actors()],
            proc,
            "a new actor in place of the killed one",
        )
        wait_for(lambda: lines(written) >= at_actor_kill + more, proc, f"{more} more lines after the actor's death")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    t0 = time.time()
    while actors() and time.time() - t0 < 30:
        time.sleep(0.5)  # an orphaned actor may still finish its batch
    left, gone_after = actors(), time.time() - t0
    for a in left:
        a.kill()
    return {"victim": victim.pid, "at_actor_kill": at_actor_kill, "left": left, "gone_after": gone_after}
