"The claim judge against texts labelled by reading: precision and recall for 'unfaithful' may not fall below their record."
import json
from pathlib import Path
import pytest
from prism_nb.claims import Vocabulary, agreement
from prism_nb.core import read_jsonl
from prism_nb.data import load_ml100k

DATA = Path(__file__).parent/"data"


@pytest.fixture(scope="module")
def labelled():
    return read_jsonl(DATA/"faithfulness_labels.jsonl"), Vocabulary.from_items(load_ml100k().items)


def test_labelled_set_is_complete_and_split(labelled):
    labels, _ = labelled
    assert len(labels) >= 150
    assert {r["system"] for r in labels} == {"teacher", "student", "student_no_user"}
    assert all(isinstance(r["faithful"], bool) and (r["faithful"] or r["reasons"]) for r in labels), "every unfaithful label names a reason"
    pairs = {}
    for r in labels: pairs.setdefault((r["user"], r["item"]), set()).add(r["split"])
    assert all(len(s) == 1 for s in pairs.values()), "all texts of a pair are in one part"


def test_judge_agreement_on_test_part_holds_its_record(labelled):
    labels, vocab = labelled
    got = agreement([r for r in labels if r["split"] == "test"], vocab)
    rec = json.loads((DATA/"judge_agreement.json").read_text())
    print(f"test part: {got['n']} texts, tp {got['tp']} fp {got['fp']} fn {got['fn']} tn {got['tn']}; "
          f"precision {got['precision']['value']:.3f} {got['precision']['ci']}, recall {got['recall']['value']:.3f} {got['recall']['ci']}")
    assert got["precision"]["value"] >= rec["precision"]
    assert got["recall"]["value"] >= rec["recall"]
