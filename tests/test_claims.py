"The claim judge on texts labelled by reading: precision and recall for 'unfaithful' may not fall below their record."

import json
from pathlib import Path

import pandas as pd
import pytest

from prism_nb.claims import Vocabulary, agreement, judge
from prism_nb.core import read_jsonl
from prism_nb.data import item_facts, load_amazon2023, load_ml100k

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def labelled():
    return read_jsonl(DATA / "faithfulness_labels.jsonl"), Vocabulary.from_items(load_ml100k().items)


def test_labelled_set_is_complete_and_split(labelled):
    labels, _ = labelled
    assert len(labels) >= 150
    assert {r["system"] for r in labels} == {"teacher", "student", "student_no_user"}
    assert all(isinstance(r["faithful"], bool) and (r["faithful"] or r["reasons"]) for r in labels), (
        "every unfaithful label names a reason"
    )
    pairs = {}
    for r in labels:
        pairs.setdefault((r["user"], r["item"]), set()).add(r["split"])
    assert all(len(s) == 1 for s in pairs.values()), "all texts of a pair are in one part"


def test_judge_agreement_on_test_part_holds_its_record(labelled):
    labels, vocab = labelled
    got = agreement([r for r in labels if r["split"] == "test"], vocab)
    rec = json.loads((DATA / "judge_agreement.json").read_text())
    print(
        f"test part: {got['n']} texts, tp {got['tp']} fp {got['fp']} fn {got['fn']} tn {got['tn']}; "
        f"precision {got['precision']['value']:.3f} {got['precision']['ci']}, "
        f"recall {got['recall']['value']:.3f} {got['recall']['ci']}"
    )
    assert got["precision"]["value"] >= rec["precision"]
    assert got["recall"]["value"] >= rec["recall"]


@pytest.fixture(scope="module")
def grill_pan():
    "The Lodge grill pan's facts, a history of a Lodge skillet and an OXO peeler, and the kitchen vocabulary."
    kitchen = load_amazon2023(str(DATA / "amazon2023"))
    by_title = kitchen.items.set_index("title")
    liked = ["Lodge 10.25 Inch Cast Iron Skillet, Pre-Seasoned", "OXO Good Grips Swivel Peeler"]
    h = pd.DataFrame(
        {"item": [by_title.loc[t, "item"] for t in liked], "title": liked, "rating": [5.0, 5.0], "timestamp": [2, 1]}
    )
    facts = item_facts(kitchen, by_title.loc["Lodge Cast Iron Square Grill Pan, 10.5 Inch", "item"], h)[:8]
    return facts, [{"title": t} for t in liked], Vocabulary.from_items(kitchen.items)


def statuses(text, facts, history, vocab, kinds=("brand", "material", "rating", "price", "relation")):
    return [(c["kind"], c["status"]) for c in judge(text, facts, history, vocab)["claims"] if c["kind"] in kinds]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("This grill pan from Lodge is made of cast iron.", [("brand", "supported"), ("material", "supported")]),
        (
            "This grill pan by Cuisinart is made of stainless steel.",
            [("brand", "contradicted"), ("material", "contradicted")],
        ),
        ("It is rated 4.6 stars and highly rated.", [("rating", "supported"), ("rating", "supported")]),
        ("It is rated 4.9 out of 5.", [("rating", "contradicted")]),
        ("It costs under $50.", [("price", "supported")]),
        ("It costs under $20.", [("price", "contradicted")]),
        ("It costs under $40.", [("price", "unsupported")]),
        ("It is an affordable pick.", [("price", "unsupported")]),
        ("It is from the same brand as the Lodge 10.25 Inch Cast Iron Skillet.", [("relation", "supported")]),
        ("It is from the same brand as the OXO Good Grips Swivel Peeler.", [("relation", "contradicted")]),
    ],
)
def test_product_claims_against_the_page(grill_pan, text, expected):
    assert statuses(text, *grill_pan) == expected


def test_product_claims_without_page_facts_are_unsupported(grill_pan):
    facts, history, vocab = grill_pan
    bare = [{"kind": "title", "text": "title: Square Grill Pan", "value": "Square Grill Pan"}]
    got = statuses(
        "This pan from Cuisinart, made of stainless steel, is rated 4.6 stars, highly rated and under $50.",
        bare,
        history,
        vocab,
    )
    assert got == [
        ("brand", "unsupported"),
        ("material", "unsupported"),
        ("rating", "unsupported"),
        ("rating", "unsupported"),
        ("price", "unsupported"),
    ]
    # the same brand as a liked item, with no shared_brand fact at all
    assert statuses(
        "It comes from the same maker as the Lodge 10.25 Inch Cast Iron Skillet.", bare, history, vocab
    ) == [("relation", "unsupported")]


def test_a_faithful_product_text(grill_pan):
    facts, history, vocab = grill_pan
    v = judge(
        "Since you liked the Lodge 10.25 Inch Cast Iron Skillet, this cast iron grill pan from the same brand, "
        "rated 4.6 out of 5 and priced at $25-50, is a good fit.",
        facts,
        history,
        vocab,
    )
    assert v["faithful"], v["claims"]
    assert judge("This grill pan is made of stainless steel by OXO.", facts, history, vocab)["faithful"] is False


def test_film_texts_make_no_product_claims(labelled):
    "On ML-100k the product rules are off: no brand, material, rating or price claim on any labelled text."
    labels, vocab = labelled
    assert vocab.products is False
    kinds = {c["kind"] for r in labels[:80] for c in judge(r["text"], r["facts"], r["history"], vocab)["claims"]}
    assert not kinds & {"brand", "material", "rating", "price"}
