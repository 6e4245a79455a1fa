"""The content in flows/: every topic answered, facts dated and sourced, amounts with their year, and
examples written by us, not copied from the evaluation set."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.core.normalize import fold
from bot.flowspec import LANGS, FlowSet
from bot.flowspec.taxonomy import topics

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def test_every_topic_is_answered(flows: FlowSet) -> None:
    answered = {n.topic for n in flows.nodes() if n.type == "answer"}
    handed = {n.topic for n in flows.nodes() if n.type == "handoff"}
    for topic in topics():
        if topic == "out_of_scope":
            continue
        if topic == "handoff_needed":
            assert topic in handed
        else:
            assert topic in answered, f"no answer for {topic}"


def test_answers_are_sourced_and_dated(flows: FlowSet) -> None:
    today = dt.date.today()
    for node in flows.nodes():
        if node.type == "answer" and node.topic != "out_of_scope":
            assert node.sources and node.reviewed, node.key
            assert node.reviewed <= today, f"{node.key}: reviewed in the future"


@pytest.mark.parametrize("node", ["patent.cost_published", "patent.cost_computed", "patent.cost_unknown_coefficient",
                                  "patent.cost_unknown_year"])
def test_patent_cost_names_the_year(flows: FlowSet, node: str) -> None:
    texts = flows.node(node).text or {}
    for lang in LANGS:
        assert "{price_year}" in texts[lang], f"{node}.{lang} does not name the year"


def test_kyrgyz_citizens_are_told_no_patent_is_needed(flows: FlowSet) -> None:
    switches = [n for n in flows.nodes() if n.type == "switch" and n.on == "citizenship" and n.flow == "patent"]
    assert switches
    for switch in switches:
        target = flows.node(switch.cases["kg"])
        assert target.type == "answer" and target.topic in ("patent_apply", "patent_renewal"), switch.key


def test_answers_with_examples_have_enough_in_every_language(flows: FlowSet) -> None:
    for node in flows.nodes():
        if node.type == "answer" and node.examples:
            for lang in LANGS:
                assert len(node.examples.get(lang, [])) >= 8, f"{node.key}: fewer than 8 {lang} examples"


def test_taxonomy_copy_matches_shared() -> None:
    shared = SHARED / "taxonomy.yaml"
    if not shared.exists():
        pytest.skip("shared/ is not beside this checkout")
    data = YAML(typ="safe", pure=True).load(shared.read_text(encoding="utf-8"))
    assert set(data["topics"]) == set(topics())


def test_examples_are_not_copied_from_the_evaluation_set(flows: FlowSet) -> None:
    eval_dir = SHARED / "eval"
    rows = []
    for path in sorted(eval_dir.glob("*.tsv")) if eval_dir.exists() else []:
        with path.open(encoding="utf-8") as f:
            rows.extend(csv.DictReader(f, delimiter="\t"))
    if not rows:
        pytest.skip("the evaluation set is not beside this checkout")
    held_out = {fold(r["text"]) for r in rows}
    copied = [(n.key, e) for n in flows.nodes() for items in n.examples.values() for e in items if fold(e) in held_out]
    assert copied == []
