"""Transcript tests: YAML conversations over the real flows/, through the same adapter as `hotline chat`.

Each file in tests/transcripts/ holds conversations:

    conversations:
      - name: payment date, Uzbek citizen
        lang: uz                 # optional: the language the channel suggests (else the picker comes first)
        today: 2026-03-20        # optional: the clock (default 2026-03-20, 09:00 UTC)
        covers: ky               # without `lang`: the language the migrant picks (for the coverage check)
        steps:
          - send: /start
            node: main.menu      # the node of the last reply (where the bot now waits)
          - send: "1"
            nodes: [patent.menu] # every reply's node, in order (replies without a node are skipped)
            says: [Patent]       # text that must appear in this turn's replies
            not_says: [...]      # text that must not
            status: WAITING      # optional: the conversation's status after the turn
          - mediator: take       # a mediator takes the waiting conversation (needs `hours`)

A conversation with `hours: "Mon-Fri 09:00-18:00"` (Moscow time) has the mediators' side wired in, as
`hotline serve` does: the place in the queue, office hours, mediators who take conversations.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.terminal import TerminalChat, render
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from tests.conftest import Clock
from tests.handoff_kit import add_staff, make_handoff

DIR = Path(__file__).parent / "transcripts"
STEP_KEYS = {"send", "payload", "node", "nodes", "says", "not_says", "status", "mediator"}


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(DIR.glob("*.yaml")):
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        for conv in data["conversations"]:
            out.append((f"{path.stem}: {conv['name']}", conv))
    return out


CONVERSATIONS = _load()


@pytest.mark.parametrize(("name", "conv"), CONVERSATIONS, ids=[c[0] for c in CONVERSATIONS])
async def test_transcript(name: str, conv: dict[str, Any], service: ConversationService, clock: Clock,
                          catalogs: Catalogs, db: AsyncEngine) -> None:
    today = conv.get("today")
    if today:
        clock.now = dt.datetime.combine(today, conv.get("time", dt.time(9, 0)), tzinfo=dt.UTC)
    handoff = make_handoff(service, catalogs, hours=conv["hours"]) if "hours" in conv else None
    chat = TerminalChat(service, lang=conv.get("lang"))
    for number, step in enumerate(conv["steps"], start=1):
        unknown = set(step) - STEP_KEYS
        assert not unknown, f"step {number}: unknown keys {unknown}"
        if step.get("mediator") == "take":
            assert handoff is not None, f"step {number}: a mediator needs `hours` on the conversation"
            staff = await add_staff(db, f"m{number}", name="Malika", languages=("ru", "uz", "tg", "ky"),
                                    skills=("general", "legal", "medical"))
            await handoff.claim((await handoff.queue(staff))[0]["id"], staff)
            continue
        replies = await chat.send(str(step.get("send", "")))
        shown = render(replies)
        where = f"{name}, step {number} ({step.get('send')!r}):\n{shown}"
        nodes = [r.node for r in replies if r.node]
        if "node" in step:
            assert nodes and nodes[-1] == step["node"], where
        if "nodes" in step:
            assert nodes == step["nodes"], where
        for text in step.get("says", []):
            assert str(text) in shown, f"{text!r} missing in {where}"
        for text in step.get("not_says", []):
            assert str(text) not in shown, f"{text!r} present in {where}"
        if "status" in step:
            assert chat.status == step["status"], where
        clock.advance(seconds=20)


def test_every_flow_in_every_language_has_a_transcript(flows: FlowSet) -> None:
    """Each flow is visited in each of the four languages by some transcript."""
    covered: set[tuple[str, str]] = set()
    for _, conv in CONVERSATIONS:
        lang = conv.get("lang") or conv.get("covers")
        for step in conv["steps"]:
            for node in [step.get("node"), *step.get("nodes", [])]:
                if node and lang:
                    covered.add((node.split(".")[0], lang.replace("uz_cyrl", "uz")))
    missing = sorted({(f, lang) for f in flows.flows for lang in ("ru", "uz", "tg", "ky")} - covered)
    assert not missing, f"flows without a transcript in a language: {missing}"
