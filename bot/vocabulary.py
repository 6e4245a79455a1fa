"""The words every room shares: languages, conversation states, queues, skills, channels' capabilities.

A leaf: it imports nothing of ours, so any room may use it without tying itself to another room
(tests/test_import_contract.py). The flow format keeps its own copies of LANGS, QUEUES and PRIORITIES
(bot/flowspec/model.py, which imports nothing of ours); a test checks that they agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

LANGS: tuple[str, ...] = ("ru", "uz", "tg", "ky")  # the four languages everything user-facing exists in
DEFAULT_LANG = "ru"
LANG_CHOICES: tuple[str, ...] = ("ru", "uz", "uz_cyrl", "tg", "ky")  # what a person can pick (Uzbek in two scripts)
SCRIPTS: tuple[str, ...] = ("Latn", "Cyrl")
QUEUES: tuple[str, ...] = ("legal", "medical", "general")  # a conversation waits in one; mediators have skills
SKILLS = QUEUES
PRIORITIES: tuple[str, ...] = ("normal", "urgent")
RESOLUTIONS: tuple[str, ...] = ("answered", "referred", "no_reply", "duplicate", "spam", "other")
ROLES: tuple[str, ...] = ("admin", "editor", "mediator", "coordinator")  # a coordinator reads every conversation


class Status(StrEnum):
    """A conversation's state; the moves between them are handoff.states' table."""

    BOT = "BOT"
    WAITING = "WAITING"
    WITH_MEDIATOR = "WITH_MEDIATOR"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True)
class Capabilities:
    """What the rest of the house needs to know about a channel, as data."""

    push: bool  # answered through the outbox (True), or read back by the person's client (the web chat)
    reply_window: dt.timedelta | None = None  # free-form messages only so long after the person's last one
    max_chars: int | None = None  # one message's limit; longer texts are split


CHANNELS: dict[str, Capabilities] = {
    "telegram": Capabilities(push=True, max_chars=4096),
    "whatsapp": Capabilities(push=True, reply_window=dt.timedelta(hours=24), max_chars=1600),
    "web": Capabilities(push=False),
    "terminal": Capabilities(push=False),
}
PUSH_CHANNELS = frozenset(name for name, c in CHANNELS.items() if c.push)
WINDOW_CHANNELS = frozenset(name for name, c in CHANNELS.items() if c.reply_window is not None)


def mask(user: str) -> str:
    """A channel user id fit for logs: phone numbers and chat ids keep only their last 3 characters."""
    return ("*" * max(len(user) - 3, 0)) + user[-3:] if len(user) > 3 else "***"


# the one question asked when a typed message may be urgent ("a person now?"); typed text reaches it
UNSURE_NODE = "urgent.ask"
