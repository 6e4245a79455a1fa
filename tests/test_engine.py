"""The pure engine over a small test flow set: menus, asks, switch, calculate, feedback, handoff,
keywords, timeout, stale buttons, contact variables, /forget."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.core.engine import Engine, parse_date
from bot.core.model import ConvState, Inbound, Profile, Turn
from bot.core.texts import Untranslated
from bot.flowspec import FlowSet, load
from tests.flows_kit import changed_copy

FLOWS = load(Path(__file__).parent / "data" / "flows")
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


class Chat:
    """A conversation with the pure engine (the small test flows unless `flows` is given)."""

    def __init__(self, lang: str | None = "ru", flows: FlowSet = FLOWS, **profile: object):
        self.engine = Engine(flows, Untranslated())
        self.profile = Profile(lang=lang, notice_shown=lang is not None, **profile)  # type: ignore[arg-type]
        self.state = ConvState()
        self.now = NOW
        self.turn: Turn | None = None

    def send(self, text: str = "", payload: str | None = None, **kw: object) -> Turn:
        turn = self.engine.handle(self.profile, self.state,
                                  Inbound(channel="test", user="u", text=text, payload=payload, **kw),  # type: ignore[arg-type]
                                  self.now)
        self.profile, self.state, self.turn = turn.profile, turn.state, turn
        return turn

    @property
    def nodes(self) -> list[str | None]:
        assert self.turn
        return [r.node for r in self.turn.replies if r.node]

    @property
    def text(self) -> str:
        assert self.turn
        return "\n".join(r.text for r in self.turn.replies)


def test_new_contact_gets_picker_then_notice_then_menu() -> None:
    chat = Chat(lang=None)
    chat.send("/start")
    assert chat.nodes == ["language.pick"]
    assert [b.payload for b in chat.turn.replies[0].buttons][-1] == "o:language.pick:5"  # type: ignore[union-attr]
    chat.send("3")
    assert chat.profile.lang == "tg"
    assert "help line for migrant workers" in chat.text  # the privacy notice, once
    assert chat.nodes == ["main.menu"]
    chat.send("/start")
    assert "help line for migrant workers" not in chat.text


def test_lang_hint_skips_picker_and_uzbek_cyrillic_is_transliterated() -> None:
    chat = Chat(lang=None)
    chat.send("salom", lang_hint="uz_cyrl")
    assert (chat.profile.lang, chat.profile.script) == ("uz", "Cyrl")
    assert chat.turn.replies[-1].text == "Бош меню"  # type: ignore[union-attr]
    assert [b.label for b in chat.turn.replies[-1].buttons] == ["Патент", "Одам"]  # type: ignore[union-attr]


def test_menu_by_number_words_and_button() -> None:
    chat = Chat()
    chat.send("/menu")
    chat.send(" 1. ")
    assert chat.nodes == ["patent.menu"]
    chat.send("назад")
    assert chat.nodes == ["main.menu"]
    chat.send(payload="o:main.menu:1")
    assert chat.nodes == ["patent.menu"]


def test_typed_nonsense_twice_offers_a_person() -> None:
    chat = Chat()
    chat.send("/menu")
    chat.send("blah")
    assert "didn't understand" in chat.text and chat.nodes == ["main.menu"]
    chat.send("blah again")
    assert "talk to a person" in chat.text
    assert [b.payload for b in chat.turn.replies[-1].buttons] == ["x:mediator", "x:menu"]  # type: ignore[union-attr]
    turn = chat.send("1")
    assert turn.handoff is not None and turn.handoff.reason == "not_understood"


def test_calculator_path_and_contact_variable_asked_once() -> None:
    chat = Chat()
    chat.send("/menu")
    chat.send("1")
    chat.send("1")
    assert chat.nodes == ["patent.ask_citizenship"]
    chat.send("1")  # Uzbekistan
    assert chat.profile.vars["citizenship"] == "uz"
    chat.send("10.03.2026")
    chat.send("2")
    assert chat.nodes == ["patent.result"]
    assert "9 May 2026" in chat.text or "9 мая 2026" in chat.text
    assert chat.turn.topic == "patent_payment"  # type: ignore[union-attr]
    chat.send("да")  # it helped: continues at `next`
    assert chat.nodes == ["main.menu"]
    chat.send("1")
    chat.send("1")
    assert chat.nodes == ["patent.ask_issue"]  # citizenship is not asked again


def test_switch_on_citizenship() -> None:
    chat = Chat(vars={"citizenship": "kg"})
    chat.send(payload="x:menu")
    chat.send("1")
    chat.send("1")
    assert chat.nodes == ["patent.no_patent"]


def test_overdue_goes_to_mediator_without_feedback() -> None:
    chat = Chat(vars={"citizenship": "uz"})
    chat.send("/menu")
    chat.send("1")
    chat.send("1")
    chat.send("01.01.2026")
    turn = chat.send("1")  # paid until 31 Jan: overdue on 20 March
    assert chat.nodes == ["patent.late", "main.mediator"]
    assert turn.handoff is not None and turn.handoff.queue == "general"
    assert chat.state.at is None


def test_ask_validation_retries_then_offer() -> None:
    chat = Chat(vars={"citizenship": "uz"})
    chat.send("/menu")
    chat.send("1")
    chat.send("1")
    chat.send("вчера")
    assert "day.month.year" in chat.text and chat.nodes == ["patent.ask_issue"]
    chat.send("31.12.2030")  # retries: 1 -> the second wrong answer gives up
    assert "mediator can help" in chat.text


def test_integer_range() -> None:
    chat = Chat(vars={"citizenship": "uz"})
    for line in ("/menu", "1", "1", "10.03.2026", "13"):
        chat.send(line)
    assert "from 1 to 12" in chat.text
    chat.send("3")
    assert chat.nodes == ["patent.result"]


def test_feedback_no_offers_mediator() -> None:
    chat = Chat(vars={"citizenship": "kg"})
    for line in ("/menu", "1", "1"):
        chat.send(line)
    chat.send(payload="f:no")
    assert "Shall I pass the conversation" in chat.text
    turn = chat.send(payload="x:mediator")
    assert turn.handoff is not None


@pytest.mark.parametrize(("typed", "helped"), [("👎", False), ("👍", True), ("нет", False), ("ha", True)])
def test_feedback_typed_as_a_word_or_an_emoji(typed: str, helped: bool) -> None:
    """👍 and 👎 fold to nothing: each is read as typed (👎 was once taken for a yes)."""
    chat = Chat(vars={"citizenship": "kg"})
    for line in ("/menu", "1", "1"):
        chat.send(line)
    assert "Did this help?" in chat.text
    chat.send(typed)
    assert ("Shall I pass the conversation" in chat.text) is not helped


def test_an_emoji_that_is_no_answer_is_not_taken_for_yes() -> None:
    chat = Chat(vars={"citizenship": "kg"})
    for line in ("/menu", "1", "1"):
        chat.send(line)
    chat.send("🤔")
    assert chat.state.wait == "feedback"  # still asking


def test_keywords_in_any_language_and_script() -> None:
    chat = Chat()
    for word in ("Оператор!", "operator", "ОПЕРАТОР"):
        chat.state = ConvState()
        assert chat.send(word).handoff is not None
    chat.send("тилди озгортуу")  # Kyrgyz without ө/ү
    assert chat.nodes == ["language.pick"]
    chat.send("menyu")
    assert chat.nodes == ["main.menu"]


def test_stale_button_reshows_current_step() -> None:
    chat = Chat()
    chat.send("/menu")
    chat.send("1")
    chat.send(payload="o:main.menu:1")
    assert "earlier step" in chat.text and chat.nodes == ["patent.menu"]


def test_session_timeout_starts_again() -> None:
    chat = Chat()
    chat.send("/menu")
    chat.send("1")
    chat.now += dt.timedelta(minutes=31)
    chat.send("1")  # would choose in the old menu; after the timeout it starts again
    assert "Welcome back" in chat.text and chat.nodes == ["main.menu"]


def test_yes_and_no_in_words_are_the_flow_settings(tmp_path: Path) -> None:
    def answered(chat: Chat, text: str) -> str:
        chat.state = ConvState()
        for line in ("/menu", "1", "1"):
            chat.send(line)
        assert "Did this help?" in chat.text
        chat.send(text)
        return chat.text

    chat = Chat(vars={"citizenship": "kg"})
    assert "Glad it helped" in answered(chat, "Ооба")  # the words of tests/data/flows/_settings.yaml
    assert "Shall I pass the conversation" in answered(chat, "жок")
    assert "Glad it helped" not in answered(chat, "конечно")
    more = load(changed_copy(tmp_path, "_settings.yaml", "ru: [да, ага", "ru: [конечно, да, ага"))
    assert "Glad it helped" in answered(Chat(vars={"citizenship": "kg"}, flows=more), "конечно")


def test_forget_needs_confirmation() -> None:
    chat = Chat(vars={"citizenship": "uz"})
    chat.send("/forget")
    assert not chat.turn.forget  # type: ignore[union-attr]
    chat.send("нет")
    assert chat.profile.vars == {"citizenship": "uz"}
    chat.send("/forget")
    turn = chat.send(payload="d:yes")
    assert turn.forget and turn.profile == Profile()


def test_media_offers_mediator() -> None:
    from bot.core.model import Media

    chat = Chat()
    chat.send(media=(Media("photo", "file-1"),))
    assert "can't read photos" in chat.text


@pytest.mark.parametrize(("text", "expected"), [
    ("10.03.2026", dt.date(2026, 3, 10)), ("10.03.26", dt.date(2026, 3, 10)),
    ("2026-03-10", dt.date(2026, 3, 10)), ("10/3/2026", dt.date(2026, 3, 10)),
    ("31.02.2026", None), ("вчера", None), ("10.03.202", None),
])
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_nothing_happens_before_the_language_is_known() -> None:
    chat = Chat(lang=None)
    chat.send("/start")
    for line in ("/start", "/operator", "оператор", "9", "hello"):
        turn = chat.send(line)
        assert chat.nodes == ["language.pick"] and turn.handoff is None
        assert "Please" not in chat.text  # no error in a language the migrant did not choose


def test_offer_accepts_the_button_words_and_reshows_itself() -> None:
    chat = Chat(vars={"citizenship": "kg"})
    for line in ("/menu", "1", "1"):
        chat.send(line)
    chat.send("нет")
    chat.send("something else")
    assert "Shall I pass" in chat.text and chat.state.wait == "offer"
    turn = chat.send("Talk to a person")
    assert turn.handoff is not None and turn.handoff.reason == "feedback"
    assert turn.handoff.context == "patent.no_patent"


def test_stickers_get_a_short_reply_not_an_offer() -> None:
    from bot.core.model import Media

    chat = Chat()
    chat.send(media=(Media("sticker", "s1"),))
    assert chat.text == "Please write your question in words." and chat.state.wait != "offer"
