"""Editors point an unanswered question at "talk to a person": one press on the unanswered-questions page
adds its wording to the examples of urgent.person, and once published those words hand over to a mediator."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.understanding import Understanding
from bot.i18n import Catalogs
from bot.runtime import Runtime
from bot.storage.models import UnansweredQuestion, utcnow
from tests.conftest import FLOWS
from tests.console_kit import SESSION_LIBRARY_KEYS, Desk
from tests.handoff_kit import add_staff
from tests.test_flow_editing import editor_desk, flashed

pytestmark = SESSION_LIBRARY_KEYS


@pytest.fixture
async def kit(db: AsyncEngine, catalogs: Catalogs) -> AsyncIterator[tuple[Desk, Runtime]]:
    """The editor over the real flows (urgent.person is there)."""
    await add_staff(db, "ed", roles=("editor",), languages=("ru",), name="Editor Ed")
    async with editor_desk(db, catalogs, flows_dir=FLOWS) as desk:
        yield desk

WORDS = "пусть мне ответит кто-нибудь из ваших сотрудников лично"


async def test_an_unanswered_request_for_a_person_is_pointed_at_a_mediator(kit: tuple[Desk, Runtime],
                                                                           db: AsyncEngine) -> None:
    desk, runtime = kit
    async with db.begin() as conn:
        await conn.execute(insert(UnansweredQuestion).values(
            text=WORDS, lang="ru", script="Cyrl", topic_guess=None, node_guess=None, confidence=0.1,
            channel="web", status="open", created_at=utcnow()))
    ed = await desk.logged_in("ed")
    page = (await ed.get("/console/flows/unanswered")).text
    form = re.search(r'<form [^>]*class="inline person">(.*?)</form>', page, re.S)
    assert form is not None and "Talk to a person" in form.group(1)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    assert fields["node"] == "urgent.person" and fields["lang"] == "ru"
    assert html.unescape(fields["text"]) == WORDS
    sent = await ed.post("/console/flows/unanswered", {**fields, "text": html.unescape(fields["text"])})
    assert "Added to the examples of urgent.person (ru)" in flashed((await ed.follow(sent)).text)
    await ed.post("/console/flows/publish", {"note": "a request for a person in new words"})
    flows = runtime.service.engine.flows
    assert WORDS in flows.node("urgent.person").examples["ru"]
    analysis = Understanding.for_flows(flows).analyse(WORDS)
    assert (analysis.action, analysis.node) == ("handoff", "urgent.person")
