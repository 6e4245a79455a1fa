"""Why a conversation reached a person, from its handoff line (bot.service writes "BOT -> WAITING:
<reason> ..." with the handoff node on it): the words a mediator sorts the queue by."""

from __future__ import annotations

import re

from bot.console.i18n import L_
from bot.core import patent_prices

# an urgent situation's node -> what it is (bot/core/understanding/urgent.py's TARGETS; the flows hand
# over at "<node>_handoff")
URGENT_NODES = {
    "urgent.detained": L_("detention"),
    "urgent.passport": L_("passport taken"),
    "urgent.violence": L_("violence"),
    "urgent.medical": L_("medical emergency"),
    "urgent.crisis": L_("crisis"),
    "urgent.expulsion": L_("expulsion"),
    "urgent.wages": L_("unpaid wages"),
}
# the engine's handoff reasons (bot.core.model.HandoffRequest.reason)
REASONS = {
    "urgent": L_("urgent"),
    "keyword": L_("asked for a person"),
    "button": L_("asked for a person"),
    "node": L_("asked for a person"),
    "not_understood": L_("not understood"),
    "ask_failed": L_("not understood"),
    "feedback": L_("the answer did not help"),
    "media": L_("sent a photo or a voice note"),
}
PREFIX = "BOT -> WAITING: "
PREVIEW_WORDS = 12


def reason(handoff_text: str | None, handoff_node: str | None) -> str:
    """The reason's English words (a msgid of the console catalog), or "" when unknown."""
    node = (handoff_node or "").removesuffix("_handoff")  # urgent.detained_handoff: after urgent.detained
    if node in URGENT_NODES:
        return URGENT_NODES[node]
    if not handoff_text or not handoff_text.startswith(PREFIX):
        return ""
    word = handoff_text[len(PREFIX):].split(";")[0].split(" ")[0]
    return REASONS.get(word, "")


def preview(text: str | None, words: int = PREVIEW_WORDS) -> str:
    """The first words of a message, for a queue row."""
    parts = (text or "").split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


# The activity lines as handoff.service and bot.service write them ("<from> -> <to>: <why>"), each with
# the console's words for it; a line that matches none is shown as stored.
_ACTIVITY = [
    (re.compile(r"^BOT -> WAITING: (?P<reason>\w+)(?: at \S+)?; queue (?P<queue>\w+), priority (?P<priority>\w+)"),
     L_("handed over to a person: %(reason)s; queue: %(queue)s, priority: %(priority)s")),
    (re.compile(r"^\w+ -> \w+: taken over by (?P<name>.+) from (?P<other>.+)$"),
     L_("%(name)s took the conversation over from %(other)s")),
    (re.compile(r"^\w+ -> \w+: taken by (?P<name>.+)$"), L_("%(name)s took the conversation")),
    (re.compile(r"^\w+ -> \w+: answered by (?P<name>.+)$"), L_("%(name)s answered and took the conversation")),
    (re.compile(r"^\w+ -> \w+: transferred by (?P<name>.+) to the (?P<queue>\w+) queue$"),
     L_("%(name)s passed the conversation to the queue: %(queue)s")),
    (re.compile(r"^\w+ -> \w+: transferred by (?P<name>.+) to (?P<other>.+)$"),
     L_("%(name)s passed the conversation to %(other)s")),
    (re.compile(r"^\w+ -> \w+: returned by (?P<name>.+)$"), L_("%(name)s returned the conversation to the bot")),
    (re.compile(r"^\w+ -> \w+: migrant returned to the bot$"), L_("the migrant went back to the bot")),
    (re.compile(r"^\w+ -> RESOLVED: (?P<resolution>\w+) automatically"), L_("closed automatically: %(resolution)s")),
    (re.compile(r"^\w+ -> RESOLVED: (?P<resolution>\w+) by (?P<name>.+?)(?: \(.*\))?$"),
     L_("%(name)s resolved the conversation: %(resolution)s")),
]


def activity(text: str) -> tuple[str, dict[str, str]] | None:
    """An activity line as (msgid, parameters); the parameters named reason, queue, priority and
    resolution are stored words the console translates too."""
    for pattern, message in _ACTIVITY:
        if found := pattern.match(text):
            params = found.groupdict()
            if "reason" in params:
                params["reason"] = REASONS.get(params["reason"], params["reason"])
            return message, params
    return None


CITIZENSHIPS = {"uz": L_("Uzbekistan"), "tj": L_("Tajikistan"), "kg": L_("Kyrgyzstan"),
                "eaeu": L_("Kazakhstan, Armenia, Belarus"), "other": L_("another country")}


def citizenship(value: str | None) -> str:
    """A stored citizenship as a msgid ("" when unknown); an unexpected value as it is."""
    return CITIZENSHIPS.get(value or "", value or "")


def region(value: str | None) -> str:
    """A stored region id as its Russian name (the names people use in Russia, whatever the console's
    language); "" when unknown."""
    if not value:
        return ""
    if value == "other":
        return L_("another region")
    found = patent_prices.table().regions.get(value)
    return found.names.get("ru", value) if found else value
