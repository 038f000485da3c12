"""The teacher LLM as a faithfulness judge, next to the rule-based claim judge, on the labelled set.

    python bench/judge_with_teacher.py --split dev                      # the packaged Qwen2.5-Coder-1.5B teacher
    python bench/judge_with_teacher.py --split dev --model tiny:qwen2   # a quick check of the script itself

Each labelled explanation is shown to the model with the facts and history of its prompt, and the model answers whether
every statement is backed by them (greedy, one word: yes/no). Reports precision and recall for "unfaithful" of the
model alone, of the rules alone, and of the two combined (unfaithful when either says so), with Wilson 95% intervals,
the seconds per text, and the CPU. Writes JSON to `--out`.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTION = (
    "Here are the only facts known about a user and a recommended movie, then an explanation written from them.\n"
    "{facts}\nExplanation: {text}\n"
    "Does the explanation state anything that the facts do not say (a wrong or unlinked title, a genre or year not "
    "given, a person's name, plot, themes or reputation, or that the user already liked the recommended movie)? "
    "Answer yes or no."
)


def verdicts(model_name: str, rows: list, batch_size: int = 8) -> tuple[list, float]:
    "The model's unfaithful (True) / faithful (False) verdict per row, and seconds per text."
    from prism_nb.models import chat_prompt, generate_batch, load_lm
    from prism_nb.oracle import facts_block

    model, tok = load_lm(model_name, dtype="auto")
    prompts = [chat_prompt(tok, QUESTION.format(facts=facts_block(r), text=r["text"])) for r in rows]
    out, t0 = [], time.time()
    for i in range(0, len(prompts), batch_size):
        texts = generate_batch(model, tok, prompts[i : i + batch_size], max_new_tokens=2)["texts"]
        out += [t.strip().lower().startswith("yes") for t in texts]
    return out, (time.time() - t0) / max(len(rows), 1)


def scores(said: list, truth: list) -> dict:
    "Precision and recall for 'unfaithful' with their Wilson intervals."
    from prism_nb.claims import rate

    tp = sum(s and t for s, t in zip(said, truth))
    return {"precision": rate(tp, sum(said)), "recall": rate(tp, sum(truth))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    ap.add_argument("--model", default="packaged:qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "judge_with_teacher.json"))
    a = ap.parse_args()
    from prism_nb.claims import Vocabulary, judge
    from prism_nb.core import read_jsonl, write_json
    from prism_nb.data import load_ml100k

    rows = [
        r for r in read_jsonl(ROOT / "tests" / "data" / "faithfulness_labels.jsonl") if a.split in ("all", r["split"])
    ]
    vocab = Vocabulary.from_items(load_ml100k().items)
    truth = [not r["faithful"] for r in rows]
    rules = [not judge(r["text"], r["facts"], r["history"], vocab)["faithful"] for r in rows]
    model, secs = verdicts(a.model, rows)
    from prism_nb.profiling import device_name

    res = {
        "split": a.split,
        "n": len(rows),
        "model": a.model,
        "cpu": device_name("cpu"),
        "model_seconds_per_text": round(secs, 2),
        "rules": scores(rules, truth),
        "model_alone": scores(model, truth),
        "rules_or_model": scores([x or y for x, y in zip(rules, model)], truth),
    }
    write_json(a.out, res)
    for k in ("rules", "model_alone", "rules_or_model"):
        p, r = res[k]["precision"], res[k]["recall"]
        show = lambda x: f"{x['value']:.3f} ({x['k']}/{x['n']})" if x["value"] is not None else "undefined (0/0)"
        print(f"{k:15s} precision {show(p)}  recall {show(r)}")
    print(f"{secs:.2f} s per text with {a.model}")


if __name__ == "__main__":
    main()
