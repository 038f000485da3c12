"""Draw the texts to label from a demo run: for `--pairs` of the students' test pairs, the teacher's, the student's and
the no-user student's explanation, plus `--extra` teacher texts of training pairs. Writes one JSON line per text (no
labels yet) and reading sheets (`<out>.sheet<k>.md`, the system hidden) for the readers.

    python tests/data/sample_for_labels.py reports/demo tests/data/to_label.jsonl [--systems teacher]
"""

import argparse
import hashlib
import json
import random
from pathlib import Path

from prism_nb.core import read_json, read_jsonl

SYSTEMS = ("teacher", "student", "student_no_user")


def split_of(user, item) -> str:
    "dev or test, by a hash of the pair, so every system's text of a pair lands in the same part."
    return "dev" if int(hashlib.sha256(f"{user}|{item}".encode()).hexdigest(), 16) % 2 == 0 else "test"


def text_id(system, user, item) -> str:
    "A stable id that does not reveal the system."
    return "x" + hashlib.sha256(f"{system}|{user}|{item}".encode()).hexdigest()[:8]


def sheet(r) -> str:
    "One text as the readers see it: history, recommended title, facts, explanation."
    title = next((f["value"] for f in r["facts"] if f["kind"] == "title"), "?")
    return (
        f"### {r['id']}\nUser liked: {'; '.join(h['title'] for h in r['history']) or 'nothing'}\nRecommended: {title}\n"
        f"Facts: {'; '.join(f['text'] for f in r['facts'] if f['kind'] != 'title') or 'none'}\n"
        f"Explanation: {r['text']}\n"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("out")
    ap.add_argument("--pairs", type=int, default=60)
    ap.add_argument("--extra", type=int, default=20)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--chunks", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    run = Path(a.run_dir)
    systems = a.systems.split(",")
    ox = {(r["user"], r["item"]): r for r in read_jsonl(run / "oracle/explanations.jsonl")}
    test = sorted(tuple(p) for p in read_json(run / "student/split.json")["test_pairs"])
    rng = random.Random(a.seed)
    pairs = rng.sample(test, min(a.pairs, len(test)))
    extra = rng.sample(sorted(set(ox) - set(test)), a.extra)
    pred = {(r["system"], r["user"], r["item"]): r["text"] for r in read_jsonl(run / "student/predictions.jsonl")}
    rows = [{"system": s, "user": u, "item": i} for u, i in pairs for s in systems]
    rows += [{"system": "teacher", "user": u, "item": i} for u, i in extra] if "teacher" in systems else []
    out = []
    for r in rows:
        o = ox[(r["user"], r["item"])]
        text = o["text"] if r["system"] == "teacher" else pred[(r["system"], r["user"], r["item"])]
        out.append(
            {
                "id": text_id(r["system"], r["user"], r["item"]),
                **r,
                "split": split_of(r["user"], r["item"]),
                "text": text,
                "history": o["history"],
                "facts": o["facts"],
            }
        )
    rng.shuffle(out)
    Path(a.out).write_text("".join(json.dumps(r) + "\n" for r in out))
    for k in range(a.chunks):
        Path(f"{a.out}.sheet{k}.md").write_text("\n".join(sheet(r) for r in out[k :: a.chunks]))
    print(len(out), "texts;", sum(r["split"] == "dev" for r in out), "dev")


if __name__ == "__main__":
    main()
