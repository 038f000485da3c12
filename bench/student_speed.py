"""Speed of the Prism student on this machine: training seconds per epoch and explanations per second.

    python bench/student_speed.py --run-dir reports/demo --threads 2            # the run's data and settings
    python bench/student_speed.py --profile smoke --threads 2                   # synthetic pairs, settings.ini

Training time per epoch (autocast to `prism.dtype`) is measured over `--steps` real optimizer steps (after one warm-up
step) on the run's training pairs and scaled to the number of steps in an epoch; generation is timed on the test pairs
(the run's trained student when it exists, else the untrained backbone) at batch 1 and at `prism.generate_batch_size`,
served in `prism.dtype`. Writes JSON to `--out`.
"""

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch

from prism_nb.core import load_settings, seed_everything, write_json
from prism_nb.models import torch_dtype
from prism_nb.prism import load_backbone, stage_records
from prism_nb.run_folder import open_run
from prism_nb.student import Student, autocast, batch_loss, decoding, encode, generate, load_student, split_pairs


def synthetic(n: int) -> list[dict]:
    "Pairs shaped like the Oracle's records, for timing without a run."
    hist = [
        {"item": str(k), "title": t, "rating": 5.0}
        for k, t in enumerate(["Toy Story (1995)", "Fargo (1996)", "Star Wars (1977)", "Heat (1995)", "Babe (1995)"])
    ]
    facts = [
        {"kind": "title", "text": "title: Contact (1997)"},
        {"kind": "year", "text": "year: 1997"},
        {"kind": "genre", "text": "genres: Drama, Sci-Fi"},
        {"kind": "shared_genre", "text": "Sci-Fi, like Star Wars (1977)"},
        {"kind": "shared_director", "text": "shares a director with Heat (1995)"},
    ]
    text = (
        "Contact is a 1997 science-fiction drama; since you loved Star Wars, its sense of wonder and its director, "
        "who also made Heat, should suit you."
    )
    return [{"user": str(i), "item": str(1000 + i), "history": hist, "facts": facts, "text": text} for i in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--set", nargs="*", default=[], help="settings overrides section.key=value")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--n-generate", type=int, default=16)
    ap.add_argument("--out", default="bench/results/student_speed.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.run_dir and (Path(a.run_dir) / "oracle" / "explanations.jsonl").is_file():
        settings, run_dir = open_run(a.run_dir)
        _, sets = stage_records(settings, run_dir)
    else:
        settings, run_dir = load_settings(profile=a.profile, overrides=a.set), None
        recs = synthetic(300)
        sets = split_pairs(recs, settings.prism.val_share, settings.run.seed)
    prism_cfg = settings.prism
    seed_everything(settings.run.seed)
    lm, tok = load_backbone(prism_cfg.backbone, "cpu")
    st = Student(
        lm, tok, sorted({r["user"] for r in sets["train"]}), prism_cfg.user_mode if prism_cfg.user_embedding else "none"
    )
    exs = encode(st, sets["train"], prism_cfg.max_source_len, prism_cfg.max_target_len)
    opt = torch.optim.AdamW(st.parameters(), lr=prism_cfg.lr)
    spe = math.ceil(len(exs) / prism_cfg.batch_size)
    times, toks = [], []
    st.train()
    for s in range(a.steps + 1):
        b = exs[(s * prism_cfg.batch_size) % len(exs) :][: prism_cfg.batch_size]
        t0 = time.perf_counter()
        with autocast(st, prism_cfg.dtype):
            loss = batch_loss(st, b, prism_cfg.user_dropout)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(st.parameters(), prism_cfg.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s:
            times.append(time.perf_counter() - t0)
            toks.append(sum(len(e["src"]) + len(e["tgt"]) for e in b))
    step_s = sum(times) / len(times)
    del opt
    gen_st, trained = st.to(torch_dtype(prism_cfg.dtype)), False
    if run_dir is not None and (Path(run_dir) / "student" / "prism.json").is_file():
        gen_st, trained = load_student(Path(run_dir) / "student", "cpu", prism_cfg.dtype), True
    test = (sets["test"] or sets["train"])[: a.n_generate]
    gen = {}
    for bs in sorted({1, prism_cfg.generate_batch_size}):
        t0 = time.perf_counter()
        texts = generate(gen_st, test, **{**decoding(prism_cfg), "batch_size": bs})
        dt = time.perf_counter() - t0
        ntok = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)
        gen[f"batch_{bs}"] = {
            "explanations_per_s": round(len(test) / dt, 3),
            "tokens_per_s": round(ntok / dt, 2),
            "n": len(test),
            "seconds": round(dt, 2),
        }
    res = {
        "backbone": prism_cfg.backbone,
        "params": sum(p.numel() for p in st.parameters()),
        "threads": a.threads,
        "cpu": platform.processor() or platform.machine(),
        "n_train": len(exs),
        "batch_size": prism_cfg.batch_size,
        "steps_timed": a.steps,
        "seconds_per_step": round(step_s, 3),
        "train_tokens_per_s": round(sum(toks) / sum(times), 1),
        "steps_per_epoch": spe,
        "train_seconds_per_epoch": round(step_s * spe, 1),
        "mean_source_tokens": round(sum(len(e["src"]) for e in exs) / len(exs), 1),
        "mean_target_tokens": round(sum(len(e["tgt"]) for e in exs) / len(exs), 1),
        "generation_trained_student": trained,
        "generation": gen,
        "run_dir": str(run_dir or ""),
    }
    write_json(a.out, res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
