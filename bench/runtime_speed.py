"""The demo's student on transformers, CTranslate2 and ONNX Runtime GenAI: agreement, quality and speed, in one run.

    python bench/runtime_speed.py --run-dir reports/demo

Exports the run's trained student (users as tokens) to each runtime in float32 and int8, then on the run's test pairs:
- agreement: the share of test pairs whose greedy explanation is the same text on a runtime in float32 and on
  transformers float32, with the run's decoding settings and with the no-repeat n-gram guard off (CTranslate2's rule
  counts the input's n-grams; transformers and our greedy rule on ONNX Runtime GenAI count only the new tokens);
- quality: hallucination rate (the claim judge) and BLEU-4 against the teacher of each runtime's explanations, with 95%
  intervals (Wilson; bootstrap over pairs);
- speed: milliseconds per explanation (median over batches, 32 forced new tokens) at batch 1 and 32 for transformers in
  the run's serving dtype and for each runtime in float32 and int8, one after another in this process.
Writes JSON to `--out`.
"""

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from prism_nb.claims import Vocabulary, judge, rate
from prism_nb.core import Settings, read_json, read_jsonl, write_json
from prism_nb.evaluation import corpus_bleu
from prism_nb.profiling import device_name, profile_model, student_runner
from prism_nb.serving import RUNTIME_STUDENTS, export_student
from prism_nb.student import decoding, generate, load_student


def test_records(run: Path) -> list[dict]:
    "The Oracle's records of the student's test pairs."
    split = read_json(run / "student" / "split.json")
    by_pair = {(str(r["user"]), str(r["item"])): r for r in read_jsonl(run / "oracle" / "explanations.jsonl")}
    return [by_pair[(u, i)] for u, i in split["test_pairs"] if (u, i) in by_pair]


def quality(texts: list[str], recs: list[dict], vocab, n_boot: int = 1000, seed: int = 0) -> dict:
    "Hallucination rate (Wilson 95%) and BLEU-4 against the teacher (bootstrap 95% over pairs) of `texts`."
    bad = [not judge(t, r["facts"], r["history"], vocab)["faithful"] for t, r in zip(texts, recs)]
    refs = [r["text"] for r in recs]
    rng = np.random.default_rng(seed)
    boots = [
        corpus_bleu([texts[i] for i in ix], [refs[i] for i in ix], 4)
        for ix in rng.integers(0, len(texts), (n_boot, len(texts)))
    ]
    return {
        "hallucination_rate": rate(sum(bad), len(bad)),
        "bleu4": {"value": corpus_bleu(texts, refs, 4), "ci": list(np.percentile(boots, [2.5, 97.5]))},
    }


def speed(run_fn, recs, new_tokens: int, n_samples: int) -> dict:
    "Milliseconds per explanation and explanations per second at batch 1 and 32."
    rows = profile_model(run_fn, recs, batch_sizes=[1, 32], n_samples=n_samples, warmup=1, new_tokens=new_tokens)
    return {
        r["batch_size"]: {k: r[k] for k in ("latency_ms_p50", "latency_ms_p90", "explanations_per_s", "peak_mem_mb")}
        for r in rows
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="reports/demo")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runtimes", nargs="+", default=["ct2", "ort"])
    ap.add_argument("--n-samples", type=int, default=32)
    ap.add_argument("--out", default="bench/results/runtime_speed.json")
    a = ap.parse_args(argv)
    run = Path(a.run_dir)
    settings = Settings.from_dict(read_json(run / "settings.json"))
    prism_cfg, recs = settings.prism, test_records(run)
    vocab = Vocabulary.from_items(__import__("pandas").read_parquet(run / "data" / "items.parquet"))
    torch.set_num_threads(a.threads)  # the exported students run on torch's thread count
    scratch = tempfile.TemporaryDirectory()  # the exports (hundreds of MB each), removed when this function returns
    tmp = Path(scratch.name)
    exported = {
        f"{rt}_{q}": RUNTIME_STUDENTS[rt](export_student(run / "student", tmp / f"{rt}-{q}", q, rt))
        for rt in a.runtimes
        for q in ("float32", "int8")
    }
    f32 = load_student(run / "student", "cpu", "float32")
    texts = {
        "transformers_float32": generate(f32, recs, **decoding(prism_cfg)),
        **{k: m.generate(recs, **decoding(prism_cfg)) for k, m in exported.items()},
    }
    # CTranslate2's no-repeat rule also counts the input's n-grams (transformers, given input embeddings, counts only
    # the new tokens): the same model and the same rule otherwise, compared with that guard off on both sides
    plain = {**decoding(prism_cfg), "no_repeat_ngram": 0}
    reference = generate(f32, recs, **plain)
    agreement = {}
    for rt in a.runtimes:
        same = sum(x == y for x, y in zip(texts["transformers_float32"], texts[f"{rt}_float32"]))
        same_plain = sum(x == y for x, y in zip(reference, exported[f"{rt}_float32"].generate(recs, **plain)))
        agreement[f"{rt}_float32_vs_transformers_float32"] = {
            "same": same,
            "n": len(recs),
            "share": same / len(recs),
            "same_without_no_repeat_ngram": same_plain,
            "share_without_no_repeat_ngram": same_plain / len(recs),
        }
    served = load_student(run / "student", "cpu", prism_cfg.dtype)
    n = 32
    timing = {
        f"transformers_{prism_cfg.dtype}": speed(
            student_runner(served, n, max_source_len=prism_cfg.max_source_len), recs, n, a.n_samples
        ),
        **{
            k: speed(
                lambda b, m=m: m.generate(b, prism_cfg.max_source_len, n, batch_size=len(b), min_new_tokens=n),
                recs,
                n,
                a.n_samples,
            )
            for k, m in exported.items()
        },
    }
    out = {
        "machine": device_name("cpu"),
        "platform": platform.platform(),
        "run": str(run),
        "n_test_pairs": len(recs),
        "agreement": agreement,
        "quality": {k: quality(t, recs, vocab) for k, t in texts.items()},
        "new_tokens": n,
        "speed": timing,
    }
    write_json(a.out, out)
    print(
        agreement,
        {
            k: (round(q["hallucination_rate"]["value"], 3), round(q["bleu4"]["value"], 1))
            for k, q in out["quality"].items()
        },
        {k: {b: round(v["latency_ms_p50"], 1) for b, v in t.items()} for k, t in timing.items()},
    )


if __name__ == "__main__":
    main()
