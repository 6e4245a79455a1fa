"""Flow file checks: a table of deliberately broken copies of a valid flow set, each with the exact
messages `hotline flows check` must print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.flowspec import FlowError, check_dir, load
from bot.flowspec.diagram import mermaid
from tests.flows_kit import changed_copy

DATA = Path(__file__).parent / "data" / "flows"
TODAY = dt.date(2026, 12, 7)  # the checks of `reviewed` dates are made as of this day

CASES: list[tuple[str, str, str, str, list[str]]] = [
    # (id, file, replace this, with this, expected errors)
    ("misspelt next", "patent.yaml", "next: ask_months", "next: ask_monts",
     ["patent.yaml > ask_issue > next: no node 'ask_monts' in flow 'patent'; did you mean 'ask_months'?"]),
    ("misspelt flow", "main.yaml", "next: patent.menu", "next: patnet.menu",
     ["main.yaml > menu > options[1].next: no flow 'patnet'; did you mean 'patent'?"]),
    ("unknown field", "patent.yaml", "    retries: 1\n", "    retry: 1\n",
     ["patent.yaml > ask_issue > retry: unknown field for a ask node; did you mean 'retries'?"]),
    ("missing language", "patent.yaml", "ky: Патент меню}", "}",
     ["patent.yaml > menu > text.ky: missing"]),
    ("empty text", "patent.yaml", "ky: Патент меню}", "ky: ''}",
     ["patent.yaml > menu > text.ky: is empty"]),
    ("placeholder deleted in one language", "patent.yaml", 'tg: "То {paid_until} пардохт шуд"',
     'tg: "То пардохт шуд"',
     ["patent.yaml > result > text.tg: placeholders differ from ru: lacks {paid_until}"]),
    ("placeholder never saved", "patent.yaml", '"Просрочено: {paid_until}"', '"Просрочено: {paid_til}"',
     ["patent.yaml > late > text.uz: placeholders differ from ru: lacks {paid_til}, has {paid_until} that ru lacks",
      "patent.yaml > late > text.tg: placeholders differ from ru: lacks {paid_til}, has {paid_until} that ru lacks",
      "patent.yaml > late > text.ky: placeholders differ from ru: lacks {paid_til}, has {paid_until} that ru lacks",
      "patent.yaml > late > text.ru: 'paid_til' is not saved on every path to this node"]),
    ("placeholder saved on only one path", "patent.yaml", "topic: patent_apply\n    text: {ru: Патент не нужен,",
     "topic: patent_apply\n    text: {ru: 'Патент не нужен {paid_until}',",
     ["patent.yaml > no_patent > text.ru: 'paid_until' is not saved on every path to this node",
      "patent.yaml > no_patent > text.uz: placeholders differ from ru: lacks {paid_until}",
      "patent.yaml > no_patent > text.tg: placeholders differ from ru: lacks {paid_until}",
      "patent.yaml > no_patent > text.ky: placeholders differ from ru: lacks {paid_until}"]),
    ("unknown topic", "patent.yaml", "topic: patent_payment", "topic: patent_paymnt",
     ["patent.yaml > result > topic: unknown topic 'patent_paymnt'; did you mean 'patent_payment'?"]),
    ("answer without sources", "patent.yaml", "    sources: [Tax Code art. 227.1]\n", "",
     ["patent.yaml > result > sources: missing; an answer with facts names its sources"]),
    ("reviewed not a date", "patent.yaml", "reviewed: 2026-11-22\n    next: main.menu",
     "reviewed: last week\n    next: main.menu",
     ["patent.yaml > result > reviewed: must be a date written YYYY-MM-DD"]),
    ("native check not a date", "patent.yaml", "reviewed: 2026-11-22\n    next: main.menu",
     "reviewed: 2026-11-22\n    native_check: {tg: {by: Фарзона, on: yesterday}, xx: {by: A, on: 2026-01-01}}\n"
     "    next: main.menu",
     ["patent.yaml > result > native_check.tg.on: must be a date written YYYY-MM-DD",
      "patent.yaml > result > native_check.xx: unknown language"]),
    ("native check after today", "patent.yaml", "reviewed: 2026-11-22\n    next: main.menu",
     "reviewed: 2026-11-22\n    native_check: {ky: {by: Айгүл, on: 2027-03-01}}\n    next: main.menu",
     ["patent.yaml > result > native_check.ky.on: 2027-03-01 is after today (2026-12-07)"]),
    ("unknown calculator", "patent.yaml", "calculator: patent_next_payment", "calculator: patent_next_paymnt",
     ["patent.yaml > calc > calculator: unknown calculator 'patent_next_paymnt'; "
      "did you mean 'patent_next_payment'?"]),
    ("calculator input missing", "patent.yaml", "inputs: {issue_date: issue, months_paid: months}",
     "inputs: {issue_date: issue}", ["patent.yaml > calc > inputs.months_paid: missing"]),
    ("switch case never happens", "patent.yaml", "cases: {overdue: late}", "cases: {overdu: late}",
     ["patent.yaml > status > cases.overdu: 'payment_status' is never 'overdu'; it is one of ok, soon, "
      "overdue, term_over; did you mean 'overdue'?"]),
    ("unknown node type", "patent.yaml", "type: calculate", "type: calc",
     ["patent.yaml > calc > type: unknown node type 'calc'; did you mean 'calculate'?"]),
    ("duplicate key", "patent.yaml", "    retries: 1\n", "    retries: 1\n    retries: 2\n",
     ["patent.yaml: YAML error at line 40, column 5: duplicate key"]),
    ("yes is not a boolean", "patent.yaml", "    feedback: false\n", "    feedback: no\n",
     ["patent.yaml > late > feedback: must be true or false"]),
    ("too many options", "main.yaml", "      - {label: {ru: Человек",
     "".join(f"      - {{label: {{ru: a{i}, uz: a{i}, tg: a{i}, ky: a{i}}}, next: menu}}\n" for i in range(10))
     + "      - {label: {ru: Человек",
     ["main.yaml > menu > options: has 12 options; at most 10"]),
    ("text too long for WhatsApp", "main.yaml", "text: {ru: Передаю человеку,",
     "text: {ru: " + "а" * 1601 + ",",
     ["main.yaml > mediator > text.ru: 1601 characters; at most 1600 (WhatsApp)"]),
    ("id differs from file name", "patent.yaml", "id: patent", "id: patents",
     ["patent.yaml > id: 'patents' must match the file name 'patent'"]),
    ("bad node id", "patent.yaml", "  calc:\n", "  Calc-Node:\n",
     ["patent.yaml > Calc-Node: node id must be a-z, 0-9 and _, starting with a letter, at most 40 characters",
      "patent.yaml > ask_months > next: no node 'calc' in flow 'patent'"]),
    ("settings entry misspelt", "_settings.yaml", "entry: main.menu", "entry: main.mnu",
     ["_settings.yaml > entry: no node 'mnu' in flow 'main'; did you mean 'menu'?"]),
    ("yes words without Kyrgyz", "_settings.yaml", "  ky: [ооба, ооба жардам берди", "  kg: [ооба, ооба жардам берди",
     ["_settings.yaml > yes_words.ky: needs a list of words"]),
]



def test_the_base_set_is_valid() -> None:
    _, problems = check_dir(DATA, today=TODAY)
    assert problems == []


@pytest.mark.parametrize(("case", "file", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_flow(tmp_path: Path, case: str, file: str, old: str, new: str, expected: list[str]) -> None:
    directory = changed_copy(tmp_path, file, old, new)
    _, problems = check_dir(directory, today=TODAY)
    errors = sorted(str(p) for p in problems if not p.warning)
    assert errors == sorted(expected)
    with pytest.raises(FlowError):
        load(directory)


def test_unreachable_node_is_a_warning(tmp_path: Path) -> None:
    directory = changed_copy(tmp_path, "main.yaml", "      - {label: {ru: Человек, uz: Odam, tg: Одам, ky: Адам}, "
                             "next: mediator}\n", "")
    _, problems = check_dir(directory, today=TODAY)
    assert [str(p) for p in problems] == []  # the mediator stays reachable: settings name it
    directory = changed_copy(tmp_path / "b", "patent.yaml", "next: by_citizenship", "next: ask_issue")
    _, problems = check_dir(directory, today=TODAY)
    assert [str(p) for p in problems] == [
        "warning: patent.yaml > by_citizenship: unreachable from the main menu",
        "warning: patent.yaml > no_patent: unreachable from the main menu",
    ]


def test_diagram_has_every_node_and_edge() -> None:
    text = mermaid(load(DATA), "patent")
    assert text.startswith("flowchart TD\n")
    for node in ("patent__menu", "patent__calc", "patent__late"):
        assert node in text
    assert 'patent__status -->|"overdue"| patent__late' in text
    assert 'main__mediator>"main.mediator"]' in text


def test_button_data_must_fit_telegram(tmp_path: Path) -> None:
    directory = changed_copy(tmp_path, "main.yaml", "", "")
    flow, node = "f" * 24, "n" * 40  # "o:" + 24 + "." + 40 + ":1" = 69 bytes
    (directory / f"{flow}.yaml").write_text(
        f"format: 1\nid: {flow}\ntitle: {{ru: a, uz: a, tg: a, ky: a}}\nstart: {node}\nnodes:\n"
        f"  {node}:\n    type: menu\n    text: {{ru: a, uz: a, tg: a, ky: a}}\n"
        f"    options:\n      - {{label: {{ru: a, uz: a, tg: a, ky: a}}, next: main.menu}}\n", encoding="utf-8")
    _, problems = check_dir(directory)
    assert [str(p) for p in problems if not p.warning] == [
        f"{flow}.yaml > {node}: flow id and node id are too long together for a Telegram button "
        "(at most 57 characters with the dot)"]
