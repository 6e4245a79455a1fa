"""The handoff state machine: every allowed and every refused move, in the table and through the
HandoffService a mediator drives (a refused move is a HandoffError with a message the console shows)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import Catalogs
from bot.service import ConversationService
from handoff.service import HandoffError, HandoffService, NotYours, Staff
from handoff.states import TRANSITIONS, IllegalTransition, Status, check_transition
from tests.conftest import Clock
from tests.handoff_kit import add_staff, conversation, make_handoff, transcript, waiting

B, W, M, R = Status.BOT, Status.WAITING, Status.WITH_MEDIATOR, Status.RESOLVED
# Written out by hand from the design (not read from the code): BOT -> WAITING -> WITH_MEDIATOR ->
# RESOLVED; a waiting conversation may be closed; a taken one may go back to a queue (transfer);
# WAITING or WITH_MEDIATOR may return to the bot; RESOLVED is final (a new message starts a new
# conversation). A conversation still with the bot has no mediator to close it.
ALLOWED = {(B, W), (W, M), (W, B), (W, R), (M, W), (M, B), (M, R)}
EVERY_PAIR = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_move(source: Status, target: Status) -> None:
    assert check_transition(source, target) is target
    assert check_transition(str(source), target) is target  # the database hands back plain strings


@pytest.mark.parametrize(("source", "target"), [pair for pair in EVERY_PAIR if pair not in ALLOWED])
def test_refused_move(source: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot go from {source} to {target}"):
        check_transition(source, target)


def test_the_table_is_exactly_the_design() -> None:
    assert {(s, t) for s, targets in TRANSITIONS.items() for t in targets} == ALLOWED
    assert set(TRANSITIONS) == set(Status)


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="'LIMBO' is not a valid Status"):
        check_transition("LIMBO", Status.BOT)


# -- through the service -----------------------------------------------------------------------------

@pytest.fixture
async def desk(db: AsyncEngine, service: ConversationService, catalogs: Catalogs,
               clock: Clock) -> tuple[HandoffService, Staff, Staff]:
    handoff = make_handoff(service, catalogs)
    alice = await add_staff(db, "alice", name="Alice Smith")
    bob = await add_staff(db, "bob", name="Bob")
    return handoff, alice, bob


async def _in(db: AsyncEngine, clock: Clock, handoff: HandoffService, me: Staff, status: Status) -> int:
    """A conversation brought to `status` the way it happens in the console."""
    conv = await waiting(db, since=clock(), status=B if status == B else W)
    if status in (M, R):
        await handoff.claim(conv, me)
    if status == R:
        await handoff.resolve(conv, me, "answered")
    return conv


ACTIONS = {
    "claim": (lambda h, c, me: h.claim(c, me)),
    "reply": (lambda h, c, me: h.reply(c, me, "hello")),
    "return": (lambda h, c, me: h.return_to_bot(c, me)),
    "resolve": (lambda h, c, me: h.resolve(c, me, "answered")),
    "to queue": (lambda h, c, me: h.transfer(c, me, queue="legal")),
}
# What each action does from each state: the state it leads to, or the mediator's error message.
OUTCOMES = {
    ("claim", B): "this conversation is not waiting (it is BOT)",
    ("claim", W): M,
    ("claim", M): "already taken by you",
    ("claim", R): "this conversation is not waiting (it is RESOLVED)",
    ("reply", B): "the conversation is BOT; nothing can be sent",
    ("reply", W): M,
    ("reply", M): M,
    ("reply", R): "the conversation is RESOLVED; nothing can be sent",
    ("return", B): "a conversation cannot go from BOT to BOT",
    ("return", W): B,
    ("return", M): B,
    ("return", R): "a conversation cannot go from RESOLVED to BOT",
    ("resolve", B): "a conversation cannot go from BOT to RESOLVED",
    ("resolve", W): R,
    ("resolve", M): R,
    ("resolve", R): "a conversation cannot go from RESOLVED to RESOLVED",
    ("to queue", B): W,  # a mediator may put a bot conversation into a queue
    ("to queue", W): W,  # or move a waiting one to another queue
    ("to queue", M): W,
    ("to queue", R): "a conversation cannot go from RESOLVED to WAITING",
}


@pytest.mark.parametrize(("action", "start"), list(OUTCOMES))
async def test_service_moves_and_refusals(db: AsyncEngine, clock: Clock, desk: tuple[HandoffService, Staff, Staff],
                                          action: str, start: Status) -> None:
    handoff, alice, _ = desk
    conv = await _in(db, clock, handoff, alice, start)
    before = await transcript(db, conv)
    expected = OUTCOMES[(action, start)]
    if isinstance(expected, Status):
        await ACTIONS[action](handoff, conv, alice)
        assert (await conversation(db, conv)).status == expected
        activity = [m.text for m in await transcript(db, conv) if m.direction == "activity"][len(
            [m for m in before if m.direction == "activity"]):]
        if start != expected or action == "to queue":  # every transition writes an activity message
            assert activity and activity[0].startswith(f"{start} -> {expected}"), activity
    else:
        with pytest.raises(HandoffError) as caught:
            await ACTIONS[action](handoff, conv, alice)
        assert str(caught.value) == expected
        assert (await conversation(db, conv)).status == start
        assert len(await transcript(db, conv)) == len(before)  # a refused move changes nothing


async def test_service_refusals_name_the_problem(db: AsyncEngine, clock: Clock,
                                                 desk: tuple[HandoffService, Staff, Staff]) -> None:
    handoff, alice, bob = desk
    conv = await waiting(db, since=clock())
    await handoff.claim(conv, alice)
    with pytest.raises(HandoffError, match=r"^already taken by Alice Smith$"):
        await handoff.claim(conv, bob)
    for act in (handoff.reply(conv, bob, "I'll answer instead"), handoff.return_to_bot(conv, bob),
                handoff.transfer(conv, bob, queue="legal"), handoff.resolve(conv, bob, "answered")):
        with pytest.raises(NotYours, match=r"^Alice Smith has this conversation: only they can do this$"):
            await act
    with pytest.raises(HandoffError, match="the reply is empty"):
        await handoff.reply(conv, alice, "   ")
    with pytest.raises(HandoffError, match="the note is empty"):
        await handoff.note(conv, alice, "\n")
    with pytest.raises(HandoffError, match="choose a resolution: answered, referred"):
        await handoff.resolve(conv, alice, "bored")
    with pytest.raises(HandoffError, match="choose a queue or a colleague"):
        await handoff.transfer(conv, alice, queue="cooking")
    with pytest.raises(HandoffError, match="no such colleague"):
        await handoff.transfer(conv, alice, to_staff=9999)
    for act in ACTIONS.values():
        with pytest.raises(HandoffError, match="no such conversation"):
            await act(handoff, 9999, alice)
    with pytest.raises(HandoffError, match="no such conversation"):
        await handoff.conversation(9999)
    # Transfer to a colleague: the colleague owns it now, and may reply.
    await handoff.transfer(conv, alice, to_staff=bob.id)
    row = await conversation(db, conv)
    assert (row.status, row.assignee_id) == (M, bob.id)
    await handoff.reply(conv, bob, "Bob here")
    notes = [m.text for m in await transcript(db, conv) if m.direction == "activity"]
    assert notes[-1] == "WITH_MEDIATOR -> WITH_MEDIATOR: transferred by Alice Smith to Bob"
