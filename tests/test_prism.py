"Tests of the Prism student: resuming a killed training, save/load, and the unseen-user fallback."
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path

import pytest
import torch

from prism_nb.core import read_jsonl, seed_everything
from prism_nb.prism import Student, encode, generate, load_student, save_student, train_student, eval_loss

ROOT = Path(__file__).resolve().parents[1]

TINY = '''
def tiny(name="tiny:smollm2"):
    from prism_nb.models import load_lm
    return load_lm(name)

def records(n):
    hist = [{"item": "1", "title": "Toy Story (1995)", "rating": 5.0}]
    facts = [{"kind": "title", "text": "title: Star Wars (1977)", "value": "Star Wars (1977)"},
             {"kind": "shared_genre", "text": "Adventure, like Toy Story (1995)", "value": "Adventure"}]
    return [{"user": str(i % 6), "item": str(50 + i), "history": hist, "facts": facts,
             "text": f"An adventure like Toy Story, number {i}."} for i in range(n)]

class P:
    batch_size, epochs, lr, warmup, max_grad_norm, user_dropout = 2, 8, 1e-3, 0.1, 1.0, 0.1
    patience, checkpoint_every = 1000, 5

def build():
    seed_everything(0)
    lm, tok = tiny()
    st = Student(lm, tok, users=[str(i) for i in range(6)])
    recs = records(12)
    return st, encode(st, recs, 64, 16)
'''
exec(TINY)

SCRIPT = textwrap.dedent('''
    import sys
    from prism_nb.core import seed_everything
    from prism_nb.prism import Student, encode, train_student
    ''') + TINY + textwrap.dedent('''
    st, ex = build()
    res = train_student(st, ex, ex[:2], P, sys.argv[1], seed=3)
    print("FINISHED", res["step"], res["resumed_from"], flush=True)
    ''')


def _run(script, out, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, **kw)


def test_killed_training_resumes_to_same_step(tmp_path):
    script = tmp_path/"train.py"; script.write_text(SCRIPT)
    out = tmp_path/"run"
    proc = _run(script, out)
    deadline = time.time() + 240
    while not (out/"checkpoint.pt").exists():  # SIGKILL right after the first checkpoint lands
        assert proc.poll() is None, f"training ended before its first checkpoint: {proc.stdout.read()}"
        assert time.time() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = max(r["step"] for r in read_jsonl(out/"train_log.jsonl"))
    total = P.epochs * 6  # 12 examples, batch 2
    assert killed_at < total
    proc = _run(script, out); text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    line = [l for l in text.splitlines() if l.startswith("FINISHED")][0].split()
    final, resumed_from = int(line[1]), int(line[2])
    assert final == total and resumed_from >= P.checkpoint_every and resumed_from % P.checkpoint_every == 0
    steps = [r["step"] for r in read_jsonl(out/"train_log.jsonl")]
    assert steps == list(range(1, total + 1))  # no gap and no duplicate across the kill
    # the same final step count (and losses) as an uninterrupted run
    ref = tmp_path/"ref"
    proc = _run(script, ref); text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    a = [r["train_loss"] for r in read_jsonl(ref/"train_log.jsonl")]
    b = [r["train_loss"] for r in read_jsonl(out/"train_log.jsonl")]
    assert len(a) == len(b) == total
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-3


def test_save_load_round_trip(tmp_path):
    st, ex = build()
    class Q(P): epochs = 1
    train_student(st, ex, ex[:2], Q, tmp_path/"t", seed=1)
    save_student(st, tmp_path/"s", backbone="tiny")
    st2 = load_student(tmp_path/"s")
    assert st2.users.users == st.users.users and st2.user_mode == "prepend"
    assert torch.equal(st2.users.emb.weight, st.users.emb.weight)
    assert abs(eval_loss(st2, ex, 4) - eval_loss(st, ex, 4)) < 1e-5
    recs = records(3)
    assert generate(st2, recs, 64, 8) == generate(st, recs, 64, 8)
    assert json.loads((tmp_path/"s"/"prism.json").read_text())["backbone"] == "tiny"


def test_unseen_user_falls_back_to_shared_embedding():
    st, _ = build()
    with torch.no_grad(): st.users.emb.weight[0] = 7.0  # a recognisable shared row
    v = st.users(["0", "never-seen", "5"])
    assert torch.all(v[1] == 7.0) and not torch.all(v[0] == 7.0) and not torch.all(v[2] == 7.0)
    # the whole model runs for unseen users, and their output equals that of any other unseen user
    recs = records(2); recs[0]["user"], recs[1]["user"] = "stranger-a", "stranger-b"
    st.eval(); a, b = generate(st, recs, 64, 6)
    assert a == b
