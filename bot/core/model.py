"""What goes into the engine and what comes out of it. Plain data, JSON-friendly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.vocabulary import LANG_CHOICES, LATIN, UZ_CYRL, uz_cyrillic

__all__ = ["LANG_CHOICES"]  # where the engine has always found them


@dataclass(frozen=True)
class Media:
    kind: str  # photo, document, voice, video, location, sticker, other
    ref: str = ""  # the channel's file id / URL, or "lat,lon" for a location
    mime: str = ""


@dataclass(frozen=True)
class Inbound:
    channel: str
    user: str  # the channel's id of the person (chat id, phone number, web session)
    text: str = ""
    payload: str | None = None  # a pressed button's data
    media: tuple[Media, ...] = ()
    external_id: str | None = None  # the channel's id of this message, for dedupe
    lang_hint: str | None = None  # e.g. Telegram's language_code or the web page's language
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    node: str | None = None  # "flow.node" that produced it, for transcripts and reports
    topic: str | None = None


@dataclass(frozen=True)
class HandoffRequest:
    queue: str
    priority: str  # normal | urgent
    reason: str  # node | keyword | urgent | not_understood | feedback | media | ask_failed
    summary: str
    topic: str | None = None
    node: str | None = None  # the handoff node
    context: str | None = None  # where the migrant was when it happened ("flow.node")


@dataclass
class Profile:
    """What is kept about a contact across conversations."""

    lang: str | None = None  # ru uz tg ky
    script: str = LATIN  # for Uzbek: Latn (default) or Cyrl
    vars: dict[str, Any] = field(default_factory=dict)  # contact-scoped variables
    notice_shown: bool = False

    @property
    def lang_choice(self) -> str | None:
        if uz_cyrillic(self.lang, self.script):
            return UZ_CYRL
        return self.lang


class Wait(StrEnum):
    """What a conversation waits for at `ConvState.at`; stored in the state JSON by these values."""

    MENU = "menu"  # a menu: one of its options
    ASK = "ask"  # a question: a value, typed or one of its options
    FEEDBACK = "feedback"  # "did this help?" after an answer
    OFFER = "offer"  # "shall I pass you to a person?"
    FORGET = "forget"  # "delete all your data?"
    CLARIFY = "clarify"  # "did you mean one of these?"


def _wait(value: Any) -> Wait | None:
    """A stored wait state; one this version does not know reads as none (the turn starts afresh)."""
    try:
        return Wait(value) if value else None
    except ValueError:
        return None


@dataclass
class ConvState:
    """Where one conversation stands; stored as JSON on the conversation."""

    at: str | None = None  # "flow.node" waiting for input
    wait: Wait | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    tries: int = 0  # wrong answers to the current question
    misses: int = 0  # messages in a row the bot did not understand
    last_at: str | None = None  # ISO time of the last inbound message
    reason: str | None = None  # why a person is being offered (wait == Wait.OFFER), for the handoff

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "wait": self.wait.value if self.wait else None, "vars": self.vars, "tries": self.tries,
                "misses": self.misses, "last_at": self.last_at, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConvState:
        data = data or {}
        return cls(at=data.get("at"), wait=_wait(data.get("wait")), vars=dict(data.get("vars") or {}),
                   tries=int(data.get("tries", 0)), misses=int(data.get("misses", 0)),
                   last_at=data.get("last_at"), reason=data.get("reason"))


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the bot found no answer for, kept for the editors (the engine only reports it)."""

    text: str
    lang: str | None  # the detected language (ru uz tg ky), or None when it could not be told
    script: str | None  # Latn | Cyrl
    topic: str | None = None  # the closest topic, a guess for the editors (None when nothing was close)
    node: str | None = None  # the closest answer ("flow.node"), a guess
    confidence: float = 0.0  # the closest answer's score, 0..1


@dataclass
class Turn:
    replies: list[Reply]
    profile: Profile
    state: ConvState
    handoff: HandoffRequest | None = None
    forget: bool = False  # the contact confirmed that their data is to be deleted
    topic: str | None = None  # the topic of the answer given, for reports
    unanswered: UnansweredQuestion | None = None  # a typed question the bot could not answer, for editors
