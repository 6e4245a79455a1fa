"""Conversation states and the only moves allowed between them."""

from __future__ import annotations

from bot.vocabulary import Status

__all__ = ["TRANSITIONS", "IllegalTransition", "Status", "check_transition"]


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOT: frozenset({Status.WAITING}),  # only a mediator closes a conversation, and the bot has none
    Status.WAITING: frozenset({Status.WITH_MEDIATOR, Status.BOT, Status.RESOLVED}),
    Status.WITH_MEDIATOR: frozenset({Status.WAITING, Status.BOT, Status.RESOLVED}),
    Status.RESOLVED: frozenset(),  # a new message after RESOLVED starts a new conversation
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: str, target: Status) -> Status:
    """The target state, or IllegalTransition when the move is not in the table."""
    source = Status(current)
    if target not in TRANSITIONS[source]:
        raise IllegalTransition(f"a conversation cannot go from {source} to {target}")
    return target
