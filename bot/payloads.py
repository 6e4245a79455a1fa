"""The one codec of button payloads: what a pressed button sends back, as "kind:value".

Every payload the house builds comes from the functions here and every one it reads goes through
`decode`; the strings are stored in messages and outbox rows and sit in Telegram's callback data (at most
64 bytes), so their spelling never changes. A leaf like bot/vocabulary (it imports nothing of ours): the
engine, the mediators' side and the flow checks all use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    OPTION = "o"  # o:flow.node:3 - the third option of a menu or question
    OFFER = "x"  # x:mediator | x:menu - the answer to "shall I pass you to a person?"
    LANGUAGE = "l"  # l:tg - switch to this language choice
    MEANT = "m"  # m:flow.node - "did you mean": this answer
    FEEDBACK = "f"  # f:yes | f:no - "did this help?"
    FORGET = "d"  # d:yes | d:no - "delete all your data?"
    RATING = "r"  # r:4 - the 1-5 rating of a closed conversation


YES, NO = "yes", "no"
MEDIATOR, MENU = "mediator", "menu"
_KINDS = {kind.value: kind for kind in Kind}


@dataclass(frozen=True)
class Pressed:
    """A decoded payload: its kind (None for one the house does not know) and the rest after "kind:"."""

    kind: Kind | None
    value: str

    @property
    def yes(self) -> bool:
        """feedback and forget: the "yes" button; offer: the "to a person" one."""
        return self.value == (MEDIATOR if self.kind is Kind.OFFER else YES)

    def option(self) -> tuple[str, int] | None:
        """An option's node and number (from 1); None when the number is not one."""
        node, _, index = self.value.rpartition(":")
        return (node, int(index)) if index.isdigit() else None


def decode(payload: str) -> Pressed:
    prefix, _, value = payload.partition(":")
    return Pressed(_KINDS.get(prefix), value)


def option(node: str, index: int) -> str:
    return f"{Kind.OPTION}:{node}:{index}"


def option_prefix(node: str) -> str:
    """What every option payload of this node starts with."""
    return f"{Kind.OPTION}:{node}:"


def offer(to_person: bool) -> str:
    return f"{Kind.OFFER}:{MEDIATOR if to_person else MENU}"


def language(choice: str) -> str:
    return f"{Kind.LANGUAGE}:{choice}"


def meant(node: str) -> str:
    return f"{Kind.MEANT}:{node}"


def feedback(helped: bool) -> str:
    return f"{Kind.FEEDBACK}:{YES if helped else NO}"


def forget(confirmed: bool) -> str:
    return f"{Kind.FORGET}:{YES if confirmed else NO}"


def rating(stars: int) -> str:
    return f"{Kind.RATING}:{stars}"
