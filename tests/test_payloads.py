"""The button payloads' codec: the strings stay as they were stored and sent (Telegram callback data)."""

from __future__ import annotations

import pytest

from bot import payloads
from bot.core.model import ConvState, Wait
from bot.payloads import Kind, Pressed


def test_the_payloads_keep_their_stored_spelling() -> None:
    assert payloads.option("patent.menu", 3) == "o:patent.menu:3"
    assert payloads.option_prefix("start.lang") == "o:start.lang:"
    assert (payloads.offer(True), payloads.offer(False)) == ("x:mediator", "x:menu")
    assert payloads.language("uz_cyrl") == "l:uz_cyrl"
    assert payloads.meant("patent.price") == "m:patent.price"
    assert (payloads.feedback(True), payloads.feedback(False)) == ("f:yes", "f:no")
    assert (payloads.forget(True), payloads.forget(False)) == ("d:yes", "d:no")
    assert payloads.rating(5) == "r:5"


@pytest.mark.parametrize(("payload", "pressed", "yes"), [
    ("x:mediator", Pressed(Kind.OFFER, "mediator"), True),
    ("x:menu", Pressed(Kind.OFFER, "menu"), False),
    ("f:yes", Pressed(Kind.FEEDBACK, "yes"), True),
    ("d:no", Pressed(Kind.FORGET, "no"), False),
    ("r:4", Pressed(Kind.RATING, "4"), False),
    ("z:1", Pressed(None, "1"), False),  # a kind the house does not know: the engine calls it stale
    ("nonsense", Pressed(None, ""), False),
])
def test_decode(payload: str, pressed: Pressed, yes: bool) -> None:
    assert payloads.decode(payload) == pressed
    assert pressed.yes is yes


def test_an_option_is_its_node_and_number() -> None:
    assert payloads.decode("o:patent.menu:12").option() == ("patent.menu", 12)
    assert payloads.decode("o:patent.menu:x").option() is None


def test_wait_states_are_stored_as_before() -> None:
    state = ConvState(at="patent.menu", wait=Wait.MENU)
    assert state.to_json()["wait"] == "menu"
    assert ConvState.from_json(state.to_json()) == state
    assert ConvState.from_json({"wait": "clarify"}).wait is Wait.CLARIFY
    assert ConvState.from_json({"wait": "gone"}).wait is None  # a state this version does not know
