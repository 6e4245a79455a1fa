"""Dated, sourced answers: the checked/source line the migrant sees in each language, and the checks of
`hotline flows check` that keep it honest (sources, review dates, numbers that agree across languages)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.core.model import ConvState, Inbound, Profile, Turn
from bot.core.provenance import UNSOURCED_TOPICS, dates_in, footer, shown_source
from bot.flowspec import FlowSet, check_dir, load
from bot.flowspec.checks import numbers
from bot.i18n import Catalogs
from tests.flows_kit import changed_copy

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "flows"
TODAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
CATALOGS = Catalogs(ROOT / "translations")



def _problems(directory: Path, today: dt.date = TODAY) -> tuple[list[str], list[str]]:
    _, problems = check_dir(directory, today=today)
    return ([str(p) for p in problems if not p.warning], [str(p) for p in problems if p.warning])


RESULT_TEXT = ('text: {ru: "Оплачено до {paid_until}", uz: "{paid_until} gacha toʻlangan", '
               'tg: "То {paid_until} пардохт шуд", ky: "{paid_until} чейин төлөнгөн"}')


def _result_text(ru: str, uz: str, tg: str, ky: str) -> str:
    return f'text: {{ru: "{ru} {{paid_until}}", uz: "{uz} {{paid_until}}", tg: "{tg} {{paid_until}}", ' \
           f'ky: "{ky} {{paid_until}}"}}'


# -- the line the migrant sees ------------------------------------------------------------------------

@cache
def _data_flows() -> FlowSet:
    return load(DATA)


@cache
def _hotline_flows() -> FlowSet:
    return load(ROOT / "flows")


_ENGINES: dict[int, tuple[FlowSet, Engine]] = {}


def _answer_in(flows: FlowSet, choice: str, payloads: list[str]) -> Turn:
    # one engine per flow set: building one trains the question classifier
    engine = _ENGINES.setdefault(id(flows), (flows, Engine(flows, CATALOGS)))[1]
    lang, script = ("uz", "Cyrl") if choice == "uz_cyrl" else (choice, "Latn")
    profile, state = Profile(lang=lang, script=script, notice_shown=True), ConvState()
    turn = engine.handle(profile, state, Inbound(channel="test", user="u", text="/menu"), NOW)
    for payload in payloads:
        turn = engine.handle(turn.profile, turn.state, Inbound(channel="test", user="u", payload=payload), NOW)
    return turn


@pytest.mark.parametrize(("choice", "expected"), [
    ("ru", "Патент не нужен\n\nПроверено: 22 ноября 2026 · Источник: Договор о ЕАЭС, ст. 97"),
    ("uz", "Patent kerak emas\n\nTekshirildi: 22 noyabr 2026 · Manba: Договор о ЕАЭС, ст. 97"),
    ("uz_cyrl", "Патент керак эмас\n\nТекширилди: 22 ноябр 2026 · Манба: Договор о ЕАЭС, ст. 97"),
    ("tg", "Патент лозим нест\n\nСанҷида шуд: 22 Ноябр 2026 · Манбаъ: Договор о ЕАЭС, ст. 97"),
    ("ky", "Патент керек эмес\n\nТекшерилди: 22 ноябрь 2026 · Булак: Договор о ЕАЭС, ст. 97"),
])
def test_an_answer_ends_with_its_checked_date_and_source(choice: str, expected: str) -> None:
    turn = _answer_in(_data_flows(), choice, ["o:main.menu:1", "o:patent.menu:1", "o:patent.ask_citizenship:2"])
    assert turn.replies[0].node == "patent.no_patent"
    assert turn.replies[0].text == expected
    assert len(turn.replies) == 2  # the line is part of the answer's message, before "Did this help?"


def test_no_line_without_sources_or_for_a_person_now(tmp_path: Path) -> None:
    node = _data_flows().node("patent.no_patent")
    assert footer(node, "ru", CATALOGS).startswith("\n\nПроверено: 22 ноября 2026")
    assert footer(dataclasses.replace(node, reviewed=None), "ru", CATALOGS) == ""
    assert footer(dataclasses.replace(node, sources=[]), "ru", CATALOGS) == ""
    directory = changed_copy(tmp_path, "patent.yaml", "topic: patent_apply\n    text: {ru: Патент не нужен",
                      "topic: handoff_needed\n    text: {ru: Патент не нужен")
    turn = _answer_in(load(directory), "ru", ["o:main.menu:1", "o:patent.menu:1", "o:patent.ask_citizenship:2"])
    assert turn.replies[0].text == "Патент не нужен"


def _menu_path(flows: FlowSet, lang: str) -> tuple[list[str], str]:
    """Buttons from the main menu to the first sourced answer reached through menus alone."""
    queue: list[tuple[str, list[str]]] = [(flows.settings.entry, [])]
    seen = {flows.settings.entry}
    while queue:
        key, path = queue.pop(0)
        node = flows.node(key)
        if node.type == "answer" and node.topic not in UNSOURCED_TOPICS and node.sources and node.reviewed:
            return path, key
        if node.type != "menu":
            continue
        for i, option in enumerate(node.options, start=1):
            if option.next and option.next not in seen:
                seen.add(option.next)
                queue.append((option.next, [*path, f"o:{key}:{i}"]))
    raise AssertionError("no sourced answer is reached through menus alone")


@pytest.mark.parametrize(("choice", "checked"), [("ru", "Проверено: "), ("uz", "Tekshirildi: "),
                                                  ("uz_cyrl", "Текширилди: "), ("tg", "Санҷида шуд: "),
                                                  ("ky", "Текшерилди: ")])
def test_the_hotlines_own_answers_show_the_line(choice: str, checked: str) -> None:
    flows = _hotline_flows()
    path, key = _menu_path(flows, choice)
    turn = _answer_in(flows, choice, path)
    reply = next(r for r in turn.replies if r.node == key)
    last = reply.text.rsplit("\n", 1)[-1]
    assert last.startswith(checked) and " · " in last
    assert str(flows.node(key).reviewed.year) in last  # type: ignore[union-attr]


def test_shown_source_is_a_short_official_name() -> None:
    assert shown_source(["115-FZ art. 13.3 (DMS policy or paid-services contract)"]) == "115-ФЗ, ст. 13.3"
    assert shown_source(["Tax Code art. 227.1 p.3: monthly payment"]) == "НК РФ, ст. 227.1"
    assert shown_source(["UMVD of Tula region via myslo.ru (2026-03-05)"]) == "УМВД по Тульской обл."
    # the citation written first wins; a later source's citation before a first source's website
    assert shown_source(["109-FZ (7 working days); RU–UZ agreement (4 Jun 2022)"]) == "109-ФЗ"
    assert shown_source(["zelenograd.ru/news/61050 (2026-02-10)", "KoAP art. 18.8"]) == "КоАП РФ, ст. 18.8"
    assert shown_source(["zelenograd.ru/news/61050 (2026-02-10); riamo.ru"]) == "zelenograd.ru"
    assert shown_source(["A notice of the district office without an address of any kind, long enough to cut"]) \
        == "A notice of the district office without an address of any…"
    assert shown_source([]) == ""


def test_dates_in_sources() -> None:
    assert dates_in("rbc.ru (2026-01-27); order of 19.11.2021") == [dt.date(2026, 1, 27), dt.date(2021, 11, 19)]
    assert dates_in("Gosuslugi since 26 Oct 2023") == [dt.date(2023, 10, 26)]
    assert dates_in("migranty.org (KG embassy notice, 2021)") == [dt.date(2021, 12, 31)]
    assert dates_in("115-FZ art. 13.3") == []


# -- the checks -------------------------------------------------------------------------------------

def test_the_base_set_has_no_provenance_problems() -> None:
    assert _problems(DATA) == ([], [])


def test_an_answer_needs_sources_and_reviewed_unless_it_is_a_person_now(tmp_path: Path) -> None:
    directory = changed_copy(tmp_path, "patent.yaml", "    reviewed: 2026-11-22\n    next: main.menu",
                             "    next: main.menu")
    assert _problems(directory)[0] == [
        "patent.yaml > result > reviewed: missing; an answer with facts carries the date it was checked"]
    directory = changed_copy(tmp_path / "b", "patent.yaml", "topic: patent_payment\n", "topic: handoff_needed\n")
    path = directory / "patent.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    sources: [Tax Code art. 227.1]\n    reviewed: 2026-11-22\n", ""), encoding="utf-8")
    assert _problems(directory) == ([], [])


def test_reviewed_after_today_fails(tmp_path: Path) -> None:
    directory = changed_copy(tmp_path, "patent.yaml", "reviewed: 2026-11-22\n    next: main.menu",
                      "reviewed: 2026-12-08\n    next: main.menu")
    assert _problems(directory)[0] == [
        "patent.yaml > result > reviewed: 2026-12-08 is after today (2026-12-07); write the day the facts were "
        "checked against the sources"]
    assert _problems(directory, today=dt.date(2026, 12, 8)) == ([], [])  # today itself is fine


def test_review_period_and_old_sources_warn(tmp_path: Path) -> None:
    later = dt.date(2027, 6, 1)  # 191 days after the base set's reviews
    errors, warnings = _problems(DATA, today=later)
    assert errors == []
    assert "warning: patent.yaml > result > reviewed: last checked 2026-11-22, more than 180 days ago " \
           "(review_period_days): check the facts against the sources again" in warnings
    assert len(warnings) == 3  # the three sourced answers; their sources carry no date: age unknown
    directory = changed_copy(tmp_path, "_settings.yaml", "format: 1\n", "format: 1\nreview_period_days: 365\n")
    assert _problems(directory, today=later) == ([], [])
    directory = changed_copy(tmp_path / "b", "_settings.yaml", "format: 1\n", "format: 1\nreview_period_days: soon\n")
    assert _problems(directory)[0] == ["_settings.yaml > review_period_days: must be a whole number of days"]
    directory = changed_copy(tmp_path / "c", "patent.yaml", "sources: [Tax Code art. 227.1]",
                      "sources: ['Tax Code art. 227.1', 'rbc.ru (2026-01-10)', 'klerk.ru (2024-02-01)']")
    assert _problems(directory) == ([], [])  # the newest source is less than a year old
    directory = changed_copy(tmp_path / "d", "patent.yaml", "sources: [Tax Code art. 227.1]",
                      "sources: ['Tax Code art. 227.1', 'klerk.ru (2025-08-15)']")
    assert _problems(directory) == ([], [
        "warning: patent.yaml > result > sources: the newest source is from 2025-08-15, more than a year ago: "
        "look for a newer one"])


@pytest.mark.parametrize(("ru", "uz", "tg", "ky"), [
    ("8 137 руб.", "8,137 soʻm", "8\u202f137 рубл", "8.137 сом"),  # thousands in each way
    ("коэффициент 2,842", "2.842", "2,842", "2.842"),
    ("1,5 месяца", "1.5 oy", "1,5 моҳ", "1.5 ай"),
    ("до 15.03.2026", "2026-yil 15-martgacha", "то 15 марти 2026", "2026-жылдын 15-мартына чейин"),
    ("с 1 по 15", "1–15", "аз 1 то 15", "1-15"),
])
def test_the_same_numbers_in_every_language_pass(tmp_path: Path, ru: str, uz: str, tg: str, ky: str) -> None:
    directory = changed_copy(tmp_path, "patent.yaml", RESULT_TEXT, _result_text(ru, uz, tg, ky))
    assert _problems(directory) == ([], [])


@pytest.mark.parametrize(("ru", "uz", "tg", "ky", "expected"), [
    ("8 137 руб.", "8,137 soʻm", "8 136 рубл", "8.137 сом",
     ["patent.yaml > result > text.tg: numbers differ from ru: lacks 8137; has 8136 that ru lacks"]),
    ("за 3 рабочих дня", "3 ish kuni", "дар ду рӯзи корӣ", "3 жумуш күн",
     ["patent.yaml > result > text.tg: numbers differ from ru: lacks 3"]),
    ("до 15.03", "15-aprelgacha", "то 15.03", "15-мартка чейин",
     ["patent.yaml > result > text.uz: numbers differ from ru: lacks 15.3; has 15.4 that ru lacks"]),
    ("2 000–5 000 руб.", "2000–5000 soʻm", "2 000–5 000 рубл", "2 000 сом",
     ["patent.yaml > result > text.ky: numbers differ from ru: lacks 5000"]),
    ("90 дней", "90 kun, 90 kun", "90 рӯз", "90 күн",
     ["patent.yaml > result > text.uz: numbers differ from ru: has 90 that ru lacks"]),
])
def test_a_number_that_differs_between_languages_fails(tmp_path: Path, ru: str, uz: str, tg: str, ky: str,
                                                       expected: list[str]) -> None:
    directory = changed_copy(tmp_path, "patent.yaml", RESULT_TEXT, _result_text(ru, uz, tg, ky))
    assert _problems(directory)[0] == expected


def test_numbers_are_normalised() -> None:
    assert numbers("8 137, 8,137 и 8\u00a0137") == {"8137": 3}
    assert numbers("2,9323 × 1 200") == {"2.9323": 1, "1200": 1}
    assert numbers("15.03.2026 и 15 марта 2026") == {"15.3": 2, "2026": 2}
    assert numbers("ст. 18.8 ч. 3") == {"18.8": 1, "3": 1}


def test_the_line_counts_into_whatsapps_limit(tmp_path: Path) -> None:
    long = "а" * 1560
    directory = changed_copy(tmp_path, "patent.yaml", RESULT_TEXT, _result_text(long, long, long, long))
    errors, _ = _problems(directory)
    assert len(errors) == 4 and all("characters with the checked/source line; at most 1600 (WhatsApp)" in e
                                    for e in errors), errors
    assert errors[0].startswith("patent.yaml > result > text.ru: 16")
    shorter = _result_text("а" * 1500, "a" * 1500, "а" * 1500, "а" * 1500)
    directory = changed_copy(tmp_path / "b", "patent.yaml", RESULT_TEXT, shorter)
    assert _problems(directory) == ([], [])


def test_the_bound_the_check_counts_covers_the_real_line() -> None:
    """`hotline flows check` counts a bound for the checked/source line (the flow format cannot read the
    catalogs); the line the engine really writes, in every language and month, is never longer."""
    from bot.flowspec.provenance import line_bound

    texts = Catalogs(ROOT / "translations")
    node = load(ROOT / "flows").node("patent.payment_when")
    for lang in ("ru", "uz", "tg", "ky"):
        for month in range(1, 13):
            dated = dataclasses.replace(node, reviewed=dt.date(2026, month, 28))
            assert 0 < len(footer(dated, lang, texts)) <= line_bound(dated), (lang, month)
