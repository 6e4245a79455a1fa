"""Why a conversation reached a person, from its handoff line (bot.service writes "BOT -> WAITING:
<reason> ..." with the handoff node on it): the words a mediator sorts the queue by."""

from __future__ import annotations

from bot.console.i18n import L_

# the handoff node of an urgent situation -> what it is (bot/core/understanding/urgent.py's TARGETS)
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
    if handoff_node in URGENT_NODES:
        return URGENT_NODES[handoff_node]
    if not handoff_text or not handoff_text.startswith(PREFIX):
        return ""
    word = handoff_text[len(PREFIX):].split(";")[0].split(" ")[0]
    return REASONS.get(word, "")


def preview(text: str | None, words: int = PREVIEW_WORDS) -> str:
    """The first words of a message, for a queue row."""
    parts = (text or "").split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
