"""`hotline chat`: the conversation in a terminal. Reads lines from stdin, prints replies with
numbered options (type the number to choose). Scriptable: `printf '/start\\n1\\n' | hotline chat`."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterable

from bot.core.model import Inbound, Reply
from bot.service import ConversationService

CHANNEL = "terminal"


class TerminalChat:
    """One terminal conversation; the transcript tests drive the hotline through this class too."""

    def __init__(self, service: ConversationService, user: str | None = None, lang: str | None = None):
        self.service = service
        self.user = user or f"t-{uuid.uuid4().hex[:12]}"
        self.lang = lang
        self.last: list[Reply] = []
        self.status = "BOT"

    async def send(self, line: str) -> list[Reply]:
        result = await self.service.handle(Inbound(channel=CHANNEL, user=self.user, text=line,
                                                   lang_hint=self.lang))
        self.last, self.status = result.replies, result.status
        return result.replies


def render(replies: Iterable[Reply]) -> str:
    lines: list[str] = []
    for reply in replies:
        lines.append(reply.text)
        lines.extend(f"  {i}. {b.label}" for i, b in enumerate(reply.buttons, start=1))
        lines.append("")
    return "\n".join(lines)


async def run_chat(service: ConversationService, lang: str | None = None, contact: str | None = None) -> int:
    """Talk to the hotline on stdin/stdout until end of input (`hotline chat`; the CLI builds the service)."""
    interactive = sys.stdin.isatty()
    chat = TerminalChat(service, user=f"t-{contact}" if contact else None, lang=lang)
    if interactive:
        print("Type a message (or a number to choose an option); Ctrl-D to quit.\n")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        line = line.rstrip("\n")
        if not interactive:
            print(f"> {line}")
        replies = await chat.send(line)
        print(render(replies) if replies else "(a mediator will answer here)\n", flush=True)
    return 0
