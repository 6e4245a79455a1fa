"""The editor's preview: a draft run as a migrant would see it, one chat per editor, in any language,
without storing anything. No HTTP here: the editor's handlers pass what the form said."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.core.engine import Engine
from bot.core.model import LANG_CHOICES, ConvState, Inbound, Profile
from bot.vocabulary import lang_script

log = logging.getLogger(__name__)


@dataclass
class PreviewChat:
    key: str  # the flow set it runs
    lang: str
    profile: Profile
    state: ConvState
    log: list[dict[str, Any]] = field(default_factory=list)

    def button_label(self, payload: str) -> str:
        for entry in reversed(self.log):
            for button in entry.get("buttons", []):
                if button["payload"] == payload:
                    return str(button["label"])
        return payload


def _start(key: str, lang: str) -> PreviewChat:
    base, script = lang_script(lang)
    return PreviewChat(key=key, lang=lang, profile=Profile(lang=base, script=script, notice_shown=True),
                       state=ConvState())


class Previews:
    """Each editor's preview chat."""

    def __init__(self) -> None:
        self.chats: dict[int, PreviewChat] = {}

    def get(self, staff_id: int) -> PreviewChat | None:
        return self.chats.get(staff_id)

    def forget(self, staff_id: int) -> None:
        self.chats.pop(staff_id, None)

    def send(self, staff_id: int, engine: Engine, key: str, *, lang: str, text: str, payload: str | None,
             restart: bool, now: dt.datetime) -> bool:
        """One message of the editor's preview through `engine` (the flow set `key`); a restart, a new
        language or no chat yet starts over with /start. False when the engine failed on this draft (the
        chat then starts again)."""
        chat = self.chats.get(staff_id)
        if lang not in LANG_CHOICES:
            lang = "ru"
        if restart or chat is None or chat.lang != lang:
            chat = self.chats[staff_id] = _start(key, lang)
            text, payload = "/start", None
        if chat.key != key:
            chat.log.append({"who": "system", "text": "Your draft changed; the preview now runs the new version."})
            chat.key = key
        chat.log.append({"who": "you", "text": text if not payload else f"[{chat.button_label(payload)}]"})
        inbound = Inbound(channel="preview", user=f"editor-{staff_id}", text=text, payload=payload, lang_hint=lang)
        try:
            turn = engine.handle(chat.profile, chat.state, inbound, now)
        except Exception:
            log.exception("preview failed")
            chat.log.append({"who": "system", "text": "The preview could not go on from here with this draft; "
                                                      "it starts again."})
            chat.profile, chat.state = Profile(lang=chat.profile.lang, script=chat.profile.script,
                                               notice_shown=True), ConvState()
            return False
        chat.profile, chat.state = turn.profile, turn.state
        for reply in turn.replies:
            chat.log.append({"who": "bot", "text": reply.text, "node": reply.node,
                             "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons]})
        if turn.handoff is not None:
            chat.log.append({"who": "system", "text": f"Here the conversation goes to a mediator (queue "
                                                      f"{turn.handoff.queue}, {turn.handoff.priority}): "
                                                      f"{turn.handoff.summary}"})
        if turn.forget:
            chat.log.append({"who": "system", "text": "Here the migrant's data would be deleted."})
            chat.profile, chat.state = Profile(lang=chat.profile.lang, notice_shown=True), ConvState()
        del chat.log[:-200]
        return True

