"""Distillation in several processes (prism.processes = 2: DistributedDataParallel, gloo on CPU) reaches what one
process reaches with the same global batch, for a full-depth student and for a cut one learning from it, resumes after a
SIGKILL of the whole process group, and reports a worker's error."""

import os
import shutil
import signal
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import python_child

from prism_nb.core import PrismError, append_jsonl, load_settings, read_json, read_jsonl
from prism_nb.prism import stage_records, system_dir, train_system

pytestmark = pytest.mark.slow  # several training processes per test (make test-slow)

ROOT = Path(__file__).resolve().parents[1]
# float32; global batch 5 over 21 training pairs: shares of 3 and 2 examples, and a last batch of 1 (process 1 has
# none); targets of different lengths (so a mean of per-process means would differ from the batch mean); user dropout
# on; a learning rate that moves the loss
OVERRIDES = [
    "prism.dtype=float32",
    "prism.epochs=3",
    "prism.batch_size=5",
    "prism.lr=0.01",
    "prism.val_share=0.25",
    "prism.checkpoint_every=4",
    "prism.user_dropout=0.5",
    "prism.patience=100",
    "prism.max_source_len=24",
    "prism.keep_layers=0",
]
TOTAL = 3 * 5  # epochs x steps per epoch
REL = 1e-6  # measured: validation losses within 5e-8, training losses within 2e-7 (float sums in another order); with a
# per-process mean loss the validation losses miss by up to 5e-3, with per-process user-dropout draws by 2e-4


def explanations(run_dir):
    "Teacher records of 11 users (3-4 pairs, a liked film each), explanations of various lengths (once per run folder)."
    if (Path(run_dir) / "oracle" / "explanations.jsonl").exists():
        return
    recs = []
    for u in range(11):
        for k in range(3 + u % 2):
            n = len(recs)
            recs.append(
                {
                    "user": f"u{u}",
                    "item": str(50 + n),
                    "rank": k + 1,
                    "history": [{"item": str(u), "title": f"Film {u} ({1990 + u})"}],
                    "facts": [{"kind": "title", "text": f"title: Movie {n}"}],
                    "text": "An adventure like Toy Story" + ", with a hero" * (n % 4) + f", number {n}.",
                }
            )
    append_jsonl(Path(run_dir) / "oracle" / "explanations.jsonl", recs)


def settings(processes: int, *extra):
    return load_settings(profile="smoke", overrides=[*OVERRIDES, f"prism.processes={processes}", *extra])


def train(run_dir, processes: int) -> dict:
    explanations(run_dir)
    S = settings(processes)
    _, sets = stage_records(S, run_dir)
    assert (len(sets["train"]), S.prism.batch_size) == (21, 5)
    return train_system(S, run_dir, "student", sets, "cpu")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "The same training in 1 process and in 2 (each run's summary and log), uninterrupted."
    out, threads = {}, torch.get_num_threads()
    for n in (1, 2):
        d = tmp_path_factory.mktemp(f"p{n}")
        t0 = time.time()
        torch.set_num_threads(
            1
        )  # as each of the 2 processes does (2 threads on a busy 2-core machine can be several times slower)
        try:
            summary = train(d, n)
        finally:
            torch.set_num_threads(threads)
        out[n] = {
            "summary": summary,
            "log": read_jsonl(system_dir(d, "student") / "train_log.jsonl"),
            "seconds": time.time() - t0,
        }
    return out


def test_two_processes_reach_the_validation_loss_of_one(runs):
    one, two = runs[1]["summary"], runs[2]["summary"]
    print(
        f"\n1 process:   best val loss {one['best_val_loss']:.9f}, {one['steps']} steps, "
        f"training {one['train_seconds']} s, all {runs[1]['seconds']:.1f} s"
    )
    print(
        f"2 processes: best val loss {two['best_val_loss']:.9f}, {two['steps']} steps, "
        f"training {two['train_seconds']} s, all {runs[2]['seconds']:.1f} s (with starting the processes)"
    )
    vals = [[r["val_loss"] for r in runs[n]["log"] if r["val_loss"] is not None] for n in (1, 2)]
    trains = [[r["train_loss"] for r in runs[n]["log"]] for n in (1, 2)]
    rel = lambda a, b: max(abs(x - y) / abs(x) for x, y in zip(a, b))
    print(
        f"difference {abs(one['best_val_loss'] - two['best_val_loss']):.3g}; largest relative difference of the "
        f"{len(vals[0])} validation losses {rel(*vals):.3g}, "
        f"of the {len(trains[0])} training losses {rel(*trains):.3g} (tolerance: {REL})"
    )
    assert (one["processes"], two["processes"]) == (1, 2)
    assert one["steps"] == two["steps"] == TOTAL
    assert two["best_val_loss"] == pytest.approx(one["best_val_loss"], rel=REL)
    assert len(vals[0]) == len(vals[1]) > 3 and vals[1] == pytest.approx(vals[0], rel=REL)  # at every evaluation
    assert trains[1] == pytest.approx(trains[0], rel=REL)  # the logged loss is the whole batch's mean in both
    assert vals[0][-1] < vals[0][0] - 1  # it learned: a wrong gradient scale or dropout draw would show


def test_a_cut_student_distils_in_two_processes_as_in_one(tmp_path):
    "A cut student (keep_layers) learns from the full-depth one (cross-entropy plus KL) alike in 1 and 2 processes."
    cut = [
        "prism.keep_layers=1",
        "prism.cut_epochs=2",
        "prism.cut_lr=0.01",
        "prism.kd_weight=0.5",
        "prism.kd_temperature=2",
    ]
    base = tmp_path / "base"
    explanations(base)
    S = settings(1, *cut)
    _, sets = stage_records(S, base)
    full = train_system(S, base, "student_full", sets, "cpu")
    out, threads = {}, torch.get_num_threads()
    for n in (1, 2):
        d = shutil.copytree(base, tmp_path / f"p{n}")
        S = settings(n, *cut)
        torch.set_num_threads(1)
        try:
            out[n] = train_system(S, d, "student", stage_records(S, d)[1], "cpu")
        finally:
            torch.set_num_threads(threads)
    logs = [
        [
            r["val_loss"]
            for r in read_jsonl(system_dir(tmp_path / f"p{n}", "student") / "train_log.jsonl")
            if r["val_loss"] is not None
        ]
        for n in (1, 2)
    ]
    print(
        f"\nfull student: {full['layers']} layers; cut student ({out[1]['layers']} layer), best validation loss: "
        f"1 process {out[1]['best_val_loss']:.9f}, 2 processes {out[2]['best_val_loss']:.9f}"
    )
    assert full["layers"] > out[1]["layers"] == out[2]["layers"] == 1 and out[2]["cut_from"] == "student_full"
    assert (out[1]["processes"], out[2]["processes"]) == (1, 2) and out[1]["steps"] == out[2]["steps"] == 2 * 5
    assert logs[1] == pytest.approx(logs[0], rel=REL)  # the KL term averaged over the whole batch in both
    assert logs[0][-1] < logs[0][0]  # it learned


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_distributed import settings, explanations
    from prism_nb.prism import stage_records, train_system
    if __name__ == "__main__":  # the training processes are spawned: they import this file
        explanations(sys.argv[1])
        S = settings(2)
        _, sets = stage_records(S, sys.argv[1])
        summ = train_system(S, sys.argv[1], "student", sets, "cpu")
        print("FINISHED", summ["steps"], summ["resumed_from"], repr(summ["best_val_loss"]), flush=True)
    """)


def _start(script, run_dir):
    return python_child(script, run_dir, Path(__file__).parent, start_new_session=True)


def test_killed_two_process_training_resumes_to_the_same_result(tmp_path, runs):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    run_dir = tmp_path / "run"
    train_dir = system_dir(run_dir, "student") / "train"
    proc = _start(script, run_dir)
    deadline = time.time() + 90
    while not (
        train_dir / "checkpoint.pt"
    ).exists():  # SIGKILL the launcher and both workers right after the first checkpoint
        assert proc.poll() is None, f"training ended before its first checkpoint: {proc.stdout.read()}"
        assert time.time() < deadline, "no checkpoint within 90 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(r["step"] for r in read_jsonl(train_dir / "train_log.jsonl"))
    print(f"\nkilled at step {killed_at} of {TOTAL} (a checkpoint every 4 steps)")
    assert proc.returncode == -signal.SIGKILL and killed_at < TOTAL
    assert not (system_dir(run_dir, "student") / "training.json").exists()

    proc = _start(script, run_dir)
    text, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, text
    steps, resumed_from, best = [l for l in text.splitlines() if l.startswith("FINISHED")][0].split()[1:]
    steps, resumed_from, best = int(steps), int(resumed_from), float(best)
    ref = runs[2]["summary"]
    print(
        f"resumed from step {resumed_from}, finished at step {steps}: best val loss {best:.9f} "
        f"(uninterrupted: {ref['best_val_loss']:.9f} at step {ref['steps']})"
    )
    assert resumed_from >= 4 and resumed_from % 4 == 0 and steps == ref["steps"] == TOTAL
    assert read_json(system_dir(run_dir, "student") / "training.json")["resumed_from"] == resumed_from
    assert best == pytest.approx(ref["best_val_loss"], rel=REL)
    log = read_jsonl(system_dir(run_dir, "student") / "train_log.jsonl")
    assert [r["step"] for r in log] == list(range(1, TOTAL + 1))  # no gap and no duplicate across the kill
    assert [r["train_loss"] for r in log] == pytest.approx([r["train_loss"] for r in runs[2]["log"]], rel=REL)


def test_a_failing_worker_is_one_prism_error(tmp_path):
    explanations(tmp_path)
    S = settings(2, "prism.backbone=tiny:nope")
    _, sets = stage_records(S, tmp_path)
    with pytest.raises(PrismError, match=r"training process \d failed: PrismError: unknown tiny model tiny:nope") as e:
        train_system(S, tmp_path, "student", sets, "cpu")
    assert "\n" not in str(e.value) and "stderr.log" in str(e.value)
    print("\n" + str(e.value))
