"""Delivery to WhatsApp: the outbox worker and WhatsAppSender with the real twilio client against the fake
Twilio server, on SQLite and PostgreSQL. The 24-hour window (free-form inside; outside, the template once
and the message held until the migrant writes, then sent first; Twilio's 63016 on create and in a status
callback), 429 and 5xx retries, unreachable numbers, refused messages, network failures and timeouts,
texts over 1,600 characters in parts (a failure mid-way never resends a part), a crash with messages in
the outbox, TWILIO_API_BASE_URL and a send that does not block the event loop."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.rest import Client

from bot.channels.whatsapp import LIMIT, BaseUrlHttpClient, WhatsAppSender, render, split_text
from bot.core.engine import T_PRIVACY
from bot.events import EventBus
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.outbox import Transient
from bot.service import ConversationService
from bot.settings import template_variables
from bot.storage.models import ContactChannel, Conversation, Outbox
from handoff import texts as ht
from handoff.hours import OfficeHours
from handoff.service import HandoffPolicy, HandoffService, Staff
from tests import fake_twilio as tw
from tests.conftest import Clock
from tests.fake_twilio import FakeTwilio, Stack, whatsapp_stack

PHONE = "+998901234567"  # an Uzbek number: the conversations are in Uzbek
TEMPLATE = "HX" + "0123456789abcdef" * 2
TEMPLATE_VARIABLES = template_variables('{"1": "Migrantlar liniyasi"}')
NOT_A_WHATSAPP_USER = {63003: "Channel could not find To address", 63024: "Invalid message recipient",
                       21211: "Invalid 'To' Phone Number", 21614: "'To' number is not a valid mobile number"}
DILNOZA = Staff(id=1, login="dilnoza", name="Dilnoza Karimova", roles=["mediator"], languages=["uz"],
                skills=["general"])


@pytest.fixture
async def wa(service: ConversationService, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> AsyncIterator[Stack]:
    """No worker running: each test drives `drain(wa)` on the test's clock, which the sender's window
    check reads too."""
    async with whatsapp_stack(service, flows, catalogs, clock=clock, run_worker=False) as stack:
        yield stack


@pytest.fixture
async def wa_template(service: ConversationService, flows: FlowSet, catalogs: Catalogs,
                      clock: Clock) -> AsyncIterator[Stack]:
    """The same, with an approved template configured (TWILIO_TEMPLATE_CONTENT_SID and its variables)."""
    async with whatsapp_stack(service, flows, catalogs, clock=clock, run_worker=False, template_sid=TEMPLATE,
                              template_variables=TEMPLATE_VARIABLES) as stack:
        yield stack


@pytest.fixture
def mediators(service: ConversationService, catalogs: Catalogs) -> HandoffService:
    """The mediators' side as `hotline serve` wires it, on the conversation service's clock."""
    policy = HandoffPolicy(hours=OfficeHours.parse("always", "Europe/Moscow", ""), sla=dt.timedelta(minutes=15),
                           inactivity=dt.timedelta(days=7))
    handoff = HandoffService(service.db, catalogs, EventBus(), policy, clock=service.clock)
    service.on_handoff = handoff.on_handoff
    return handoff


async def drain(wa: Stack, rounds: int = 30) -> int:
    """run_once until nothing is due; the number of rows claimed in all."""
    total = 0
    for _ in range(rounds):
        claimed = await wa.worker.run_once()
        if not claimed:
            return total
        total += claimed
    raise AssertionError("the outbox did not drain")


async def talk(wa: Stack, phone: str, body: str, **extra: str) -> list[str]:
    """The migrant writes (a signed webhook); what the hotline sends them once the outbox is drained."""
    before = len(wa.fake.sent(phone))
    status, answer = await wa.post("/whatsapp/webhook", wa.inbound(phone, body, **extra))
    assert status == 200, answer
    await drain(wa)
    return wa.fake.bodies(phone)[before:]


async def queue(db: AsyncEngine, clock: Clock, phone: str, *texts: str, reply: bool = True) -> list[int]:
    """Outbox rows as the service (reply=True) or a mediator (reply=False) writes them."""
    async with db.begin() as conn:
        result = await conn.execute(insert(Outbox).returning(Outbox.id, sort_by_parameter_order=True), [
            {"channel": "whatsapp", "address": phone, "status": "pending", "attempts": 0,
             "payload": {"text": text, "buttons": [], "node": None, "reply": reply}, "next_attempt_at": clock(),
             "created_at": clock()} for text in texts])
        return list(result.scalars())


async def rows(db: AsyncEngine, phone: str | None = None) -> list[Any]:
    query = select(Outbox.id, Outbox.status, Outbox.attempts, Outbox.next_attempt_at, Outbox.sent_at,
                   Outbox.error, Outbox.payload, Outbox.external_id).order_by(Outbox.id)
    if phone is not None:
        query = query.where(Outbox.address == phone)
    async with db.connect() as conn:
        return list((await conn.execute(query)).all())


async def channel_row(db: AsyncEngine, phone: str) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(select(ContactChannel).where(ContactChannel.external_id == phone))).one()


async def with_mediator(wa: Stack, mediators: HandoffService, phone: str = PHONE) -> int:
    """A migrant asks for a person and Dilnoza takes the conversation; its id."""
    await talk(wa, phone, "Assalomu alaykum")
    await talk(wa, phone, "/operator")
    async with wa.service.db.connect() as conn:
        conversation = (await conn.execute(select(Conversation.id, Conversation.status))).one()
    assert conversation.status == "WAITING"
    await mediators.claim(conversation.id, DILNOZA)
    await drain(wa)
    return int(conversation.id)


def say(catalogs: Catalogs, message: str, **params: Any) -> str:
    return ht.say(catalogs, "uz", "Latn", message, **params)


# -- the 24-hour window ----------------------------------------------------------------------------


async def test_inside_the_window_a_mediator_reply_is_free_form(wa_template: Stack, mediators: HandoffService,
                                                                clock: Clock, catalogs: Catalogs) -> None:
    wa = wa_template
    conversation = await with_mediator(wa, mediators)
    assert wa.fake.bodies(PHONE)[-1] == say(catalogs, ht.T_JOINED, name="Dilnoza")
    clock.advance(hours=23, minutes=59)
    await mediators.reply(conversation, DILNOZA, "Patentni har oy toʻlash kerak.")
    await drain(wa)
    last = wa.fake.sent(PHONE)[-1]
    assert last["Body"] == "Patentni har oy toʻlash kerak." and "ContentSid" not in last
    assert [r.status for r in await rows(wa.service.db)] == ["sent"] * len(await rows(wa.service.db))


async def test_outside_the_window_the_template_goes_once_and_replies_wait_for_the_migrant(
        wa_template: Stack, mediators: HandoffService, clock: Clock, catalogs: Catalogs, flows: FlowSet,
        db: AsyncEngine) -> None:
    wa = wa_template
    conversation = await with_mediator(wa, mediators)
    before = len(wa.fake.requests)
    clock.advance(hours=25)  # the migrant's last message was 25 hours ago
    await mediators.reply(conversation, DILNOZA, "Javob: patentni 9-aprelgacha toʻlang.")
    await drain(wa)
    [template] = wa.fake.requests[before:]
    assert template["ContentSid"] == TEMPLATE and "Body" not in template
    assert json.loads(template["ContentVariables"]) == {"1": "Migrantlar liniyasi"}
    assert template["To"] == f"whatsapp:{PHONE}" and template["From"] == tw.FROM
    held = (await rows(db))[-1]
    assert held.status == "held" and held.sent_at is None
    assert held.error == "outside the 24-hour window"
    assert (await channel_row(db, PHONE)).window_notice_at == clock()

    # more while the migrant is away: held too, and no second template
    await mediators.reply(conversation, DILNOZA, "Chekni saqlab qoʻying.")
    clock.advance(hours=30)
    await mediators.return_to_bot(conversation, DILNOZA)
    await drain(wa)
    assert len(wa.fake.requests) == before + 1
    assert [r.status for r in (await rows(db))[-3:]] == ["held"] * 3
    await drain(wa)  # held rows are not retried on a timer
    assert len(wa.fake.requests) == before + 1

    # the migrant answers the template: what was held goes out first, then the answer to this message
    clock.advance(minutes=5)
    sent = await talk(wa, PHONE, "menyu")
    assert sent == ["Javob: patentni 9-aprelgacha toʻlang.", "Chekni saqlab qoʻying.",
                    say(catalogs, ht.T_BACK_TO_BOT), render({"text": flows.node("main.menu").text["uz"].strip(),
                                                             "buttons": [{"label": o.label["uz"]} for o in
                                                                         flows.node("main.menu").options]})]
    assert {r.status for r in await rows(db)} == {"sent"}
    assert sum(1 for r in wa.fake.requests if "ContentSid" in r) == 1


async def test_the_template_is_sent_again_after_the_window_closes_again(
        wa_template: Stack, mediators: HandoffService, clock: Clock, db: AsyncEngine) -> None:
    wa = wa_template
    conversation = await with_mediator(wa, mediators)
    clock.advance(hours=25)
    await mediators.reply(conversation, DILNOZA, "Birinchi javob")
    await drain(wa)
    clock.advance(hours=1)
    await talk(wa, PHONE, "Rahmat")  # the window opens: the answer goes out
    assert wa.fake.bodies(PHONE)[-1] == "Birinchi javob"
    clock.advance(hours=24, seconds=1)  # ... and closes again
    await mediators.reply(conversation, DILNOZA, "Ikkinchi javob")
    await drain(wa)
    templates = [r for r in wa.fake.requests if "ContentSid" in r]
    assert len(templates) == 2
    assert (await rows(db))[-1].status == "held"


async def test_outside_the_window_without_a_template_the_reply_is_held_with_a_clear_error(
        wa: Stack, mediators: HandoffService, clock: Clock, db: AsyncEngine) -> None:
    conversation = await with_mediator(wa, mediators)
    before = len(wa.fake.requests)
    clock.advance(days=3)
    await mediators.reply(conversation, DILNOZA, "Kechirasiz, kech javob beryapman.")
    await drain(wa)
    assert len(wa.fake.requests) == before  # nothing Twilio would refuse is tried
    held = (await rows(db))[-1]
    assert (held.status, held.sent_at) == ("held", None)
    assert held.error == "outside the 24-hour window; no template configured"
    assert await talk(wa, PHONE, "Salom, javob bormi?") == ["Kechirasiz, kech javob beryapman."]
    assert (await rows(db))[-1].status == "sent"


@pytest.mark.parametrize("with_template", [True, False])
async def test_twilio_63016_on_create_is_handled_like_the_window(
        with_template: bool, service: ConversationService, flows: FlowSet, catalogs: Catalogs, clock: Clock,
        mediators: HandoffService, db: AsyncEngine) -> None:
    """Our record says the window is open, Twilio says it is not (e.g. a message the migrant sent that we
    never got): the template when there is one, and the message held, never dropped."""
    async with whatsapp_stack(service, flows, catalogs, clock=clock, run_worker=False,
                              template_sid=TEMPLATE if with_template else "",
                              template_variables=TEMPLATE_VARIABLES if with_template else "") as wa:
        conversation = await with_mediator(wa, mediators)
        clock.advance(hours=23)
        before = len(wa.fake.requests)
        wa.fake.fail(400, 63016, "Failed to send freeform message because you are outside the allowed window.")
        await mediators.reply(conversation, DILNOZA, "Javob")
        await drain(wa)
        tried = wa.fake.requests[before:]
        assert tried[0]["Body"] == "Javob" and "_sid" not in tried[0]  # refused
        if with_template:
            assert [r.get("ContentSid") for r in tried[1:]] == [TEMPLATE]
        else:
            assert len(tried) == 1
        held = (await rows(db))[-1]
        assert held.status == "held"
        reason = "outside the 24-hour window" + ("" if with_template else "; no template configured")
        assert held.error == f"{reason} (Twilio 63016)"
        assert await talk(wa, PHONE, "Salom") == ["Javob"]
        assert (await rows(db))[-1].status == "sent"


async def test_a_status_callback_with_63016_holds_the_message_until_the_migrant_writes(
        wa: Stack, mediators: HandoffService, clock: Clock, db: AsyncEngine) -> None:
    conversation = await with_mediator(wa, mediators)
    clock.advance(hours=20)
    await mediators.reply(conversation, DILNOZA, "Hujjatlaringizni olib keling.")
    await drain(wa)
    sent = (await rows(db))[-1]
    assert sent.status == "sent" and sent.external_id == wa.fake.sent(PHONE)[-1]["_sid"]
    status, _ = await wa.status(sent.external_id, "failed", error_code="63016", to=PHONE)
    assert status == 200
    held = (await rows(db))[-1]
    assert (held.status, held.sent_at) == ("held", None)
    assert held.error == "outside the 24-hour window (Twilio 63016)"
    await drain(wa)
    assert wa.fake.bodies(PHONE)[-1] == "Hujjatlaringizni olib keling."  # not sent again by itself
    assert len(wa.fake.bodies(PHONE)) == len(set(wa.fake.bodies(PHONE)))
    clock.advance(hours=10)
    assert await talk(wa, PHONE, "Salom") == ["Hujjatlaringizni olib keling."]
    again = (await rows(db))[-1]
    assert again.status == "sent" and again.external_id != sent.external_id


async def test_bot_replies_are_answers_and_skip_the_window_check(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    """A reply to what the migrant just wrote never waits: no template, no hold (the window is open)."""
    await queue(db, clock, PHONE, "Javob", reply=True)  # no contact_channel row at all: no window on record
    await drain(wa)
    assert wa.fake.bodies(PHONE) == ["Javob"]


async def test_a_message_that_is_not_a_reply_to_an_unknown_number_is_held(wa: Stack, db: AsyncEngine,
                                                                         clock: Clock) -> None:
    await queue(db, clock, "+992900000001", "Eslatma", reply=False)
    await drain(wa)
    assert wa.fake.requests == []
    assert (await rows(db))[0].status == "held"


# -- rate limits and errors ------------------------------------------------------------------------


async def test_429_is_retried_later(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    await queue(db, clock, PHONE, "Birinchi", "Ikkinchi")
    wa.fake.fail(429, 20429, "Too Many Requests")
    assert await drain(wa) == 1
    row = (await rows(db))[0]
    assert row.status == "pending" and row.error == "rate limited: retry after 5.0 s"
    assert row.next_attempt_at == clock() + dt.timedelta(seconds=5)
    assert await drain(wa) == 0 and wa.fake.sent() == []  # not before its time, nor the next one (order)
    clock.advance(seconds=5)
    await drain(wa)
    assert wa.fake.bodies(PHONE) == ["Birinchi", "Ikkinchi"]
    assert [r.attempts for r in await rows(db)] == [2, 1]


async def test_server_errors_are_retried_with_growing_backoff(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    await queue(db, clock, PHONE, "Javob")
    wa.fake.fail(500, 20500, "Internal Server Error", times=2)
    waits = []
    for _ in range(2):
        await drain(wa)
        row = (await rows(db))[0]
        assert row.status == "pending" and row.error.startswith("Twilio 500")
        waits.append((row.next_attempt_at - clock()).total_seconds())
        clock.advance(seconds=waits[-1])
    assert 1 <= waits[0] <= 1.25 and 2 <= waits[1] <= 2.5  # doubling, with up to a quarter of jitter
    await drain(wa)
    assert wa.fake.bodies(PHONE) == ["Javob"] and (await rows(db))[0].status == "sent"


@pytest.mark.parametrize("code", NOT_A_WHATSAPP_USER)
async def test_a_number_that_is_not_on_whatsapp_is_unreachable(code: int, wa: Stack, db: AsyncEngine) -> None:
    phone = "+79990001122"
    status, _ = await wa.post("/whatsapp/webhook", wa.inbound(phone, "Здравствуйте"))  # two replies queued
    assert status == 200
    wa.fake.fail(400, code, NOT_A_WHATSAPP_USER[code])
    await drain(wa)
    failed = await rows(db)
    assert [r.status for r in failed] == ["failed", "failed"]
    assert all(r.error.startswith(f"unreachable: Twilio {code}: ") for r in failed)
    assert all(r.error.endswith(NOT_A_WHATSAPP_USER[code]) for r in failed)
    assert (await channel_row(db, phone)).unreachable_at is not None
    assert len(wa.fake.requests) == 1  # tried once, not retried, the queued one not tried


async def test_a_refused_message_fails_and_the_next_one_goes(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    await queue(db, clock, PHONE, "Yomon", "Yaxshi")
    wa.fake.fail(400, 21617, "The concatenated message body exceeds the 1600 character limit")
    await drain(wa)
    first, second = await rows(db)
    assert first.status == "failed" and first.error.startswith("Twilio 400 21617")
    assert second.status == "sent" and wa.fake.bodies(PHONE) == ["Yaxshi"]


async def test_a_dropped_connection_is_retried(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    await queue(db, clock, PHONE, "Javob")
    wa.fake.fail(0)  # the connection drops before an answer
    await drain(wa)
    row = (await rows(db))[0]
    assert row.status == "pending" and "Disconnected" in row.error
    clock.advance(seconds=3)
    await drain(wa)
    assert wa.fake.bodies(PHONE) == ["Javob"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_api_and_a_slow_one_are_transient(db: AsyncEngine, clock: Clock) -> None:
    """Connection refused, and no answer within the client's timeout (twilio's own timeout is not applied
    by its async client; BaseUrlHttpClient applies it)."""
    nobody = Client(tw.ACCOUNT_SID, tw.AUTH_TOKEN, http_client=BaseUrlHttpClient(f"http://127.0.0.1:{free_port()}"))
    try:
        sender = WhatsAppSender(nobody, tw.FROM, db, clock=clock)
        with pytest.raises(Transient, match="ClientConnectorError"):
            await sender.send(PHONE, {"text": "Salom", "reply": True})
    finally:
        await nobody.http_client.close()
    fake = FakeTwilio(delay=0.5)
    await fake.start()
    slow = Client(tw.ACCOUNT_SID, tw.AUTH_TOKEN, http_client=BaseUrlHttpClient(fake.url, timeout=0.1))
    try:
        sender = WhatsAppSender(slow, tw.FROM, db, clock=clock)
        with pytest.raises(Transient, match="TimeoutError"):
            await sender.send(PHONE, {"text": "Salom", "reply": True})
    finally:
        await slow.http_client.close()
        await fake.stop()


# -- long texts ------------------------------------------------------------------------------------


def long_answer(seed: int = 3, size: int = 6000) -> str:
    """About `size` characters of paragraphs of different lengths in four languages, with emoji."""
    rng = random.Random(seed)
    words = ["patent", "toʻlov", "Тоҷикистон", "мөөнөтү", "оплата", "🙂", "12.03.2026", "—", "ҳуҷҷат", "Oʻzbekiston"]
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) for _ in range(rng.randint(1, 5))]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def test_split_text_cuts_at_paragraph_breaks_within_1600_characters() -> None:
    for seed in range(5):
        text = long_answer(seed)
        parts = split_text(text)
        assert len(parts) >= 4
        assert all(0 < len(p) <= LIMIT for p in parts)
        assert "\n\n".join(parts) == text, seed  # every cut is at a paragraph break, nothing else changed
        assert all(len(p) > LIMIT // 3 for p in parts[:-1])  # no needlessly short parts


def test_split_text_without_paragraphs_cuts_at_lines_then_spaces_then_anywhere() -> None:
    lines = "\n".join(f"{i}. " + "ы" * 90 for i in range(40))
    parts = split_text(lines)
    assert all(len(p) <= LIMIT for p in parts) and "\n".join(parts) == lines
    words = " ".join(["soʻz"] * 1000)
    parts = split_text(words)
    assert all(len(p) <= LIMIT for p in parts) and " ".join(parts) == words
    blob = "x" * (LIMIT * 2 + 10)
    assert split_text(blob) == ["x" * LIMIT, "x" * LIMIT, "x" * 10]


def test_split_text_short_text_is_one_part() -> None:
    assert split_text("Salom 🙂") == ["Salom 🙂"]
    assert split_text("я" * LIMIT) == ["я" * LIMIT]
    assert split_text("") == []


async def test_a_long_answer_goes_in_parts_in_order(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    text = long_answer()
    await queue(db, clock, PHONE, text, "Bu yordam berdimi?")
    await drain(wa)
    bodies = wa.fake.bodies(PHONE)
    assert bodies[:-1] == split_text(text) and len(bodies) >= 5 and bodies[-1] == "Bu yordam berdimi?"
    row = (await rows(db))[0]
    assert row.status == "sent" and row.external_id == wa.fake.sent(PHONE)[len(bodies) - 2]["_sid"]  # the last part


@pytest.mark.parametrize(("status", "code", "wait"), [(500, 20500, 3), (429, 20429, 5)])
async def test_a_failure_mid_way_never_resends_the_parts_already_delivered(
        status: int, code: int, wait: float, wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    text = long_answer(seed=11)
    parts = split_text(text)
    assert len(parts) >= 4
    await queue(db, clock, PHONE, text)
    wa.fake.fail(status, code, "failure", after=1)  # part 1 goes, part 2 fails
    await drain(wa)
    row = (await rows(db))[0]
    assert row.status == "pending" and row.payload["sent_parts"] == 1
    wa.fake.fail(status, code, "failure", after=1)  # part 2 goes, part 3 fails
    clock.advance(seconds=wait)
    await drain(wa)
    assert (await rows(db))[0].payload["sent_parts"] == 2
    clock.advance(seconds=wait * 2)
    await drain(wa)
    assert wa.fake.bodies(PHONE) == parts  # each part once, in order
    assert (await rows(db))[0].status == "sent"


async def test_a_long_menu_keeps_its_numbered_options(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    async with db.begin() as conn:
        await conn.execute(insert(Outbox).values(
            channel="whatsapp", address=PHONE, status="pending", attempts=0, next_attempt_at=clock(),
            created_at=clock(), payload={"text": long_answer(size=2500), "node": "x.menu", "reply": True,
                                         "buttons": [{"label": "Ha", "payload": "o:x:1"},
                                                     {"label": "Yoʻq", "payload": "o:x:2"}]}))
    await drain(wa)
    bodies = wa.fake.bodies(PHONE)
    assert len(bodies) >= 2 and all(len(b) <= LIMIT for b in bodies)
    assert bodies[-1].endswith("\n\n1. Ha\n2. Yoʻq")


# -- a crash with messages in the outbox -----------------------------------------------------------


async def test_messages_left_in_the_outbox_by_a_crash_are_delivered_in_order_later(
        service: ConversationService, flows: FlowSet, catalogs: Catalogs, clock: Clock, db: AsyncEngine) -> None:
    phones = {"+79161234567": "ru", "+992927654321": "tg"}
    async with whatsapp_stack(service, flows, catalogs, clock=clock, run_worker=False) as down:
        for phone in phones:  # stored and acknowledged, but the process dies before sending anything
            for body in ("Здравствуйте", "1", "4"):
                assert (await down.post("/whatsapp/webhook", down.inbound(phone, body)))[0] == 200
        # one row was being sent when the process died: claimed, with a lease
        first = (await rows(db))[0]
        async with db.begin() as conn:
            await conn.execute(update(Outbox).where(Outbox.id == first.id).values(
                status="sending", attempts=1, next_attempt_at=clock() + dt.timedelta(seconds=60)))
        assert down.fake.requests == []
    expected = {phone: [render(r.payload) for r in await rows(db, phone)] for phone in phones}
    assert all(len(texts) == 4 for texts in expected.values())  # notice, menu, patent menu, citizenship
    assert expected["+79161234567"][0] == catalogs.gettext("ru", T_PRIVACY)

    clock.advance(seconds=61)  # the lease of the interrupted send has run out
    async with whatsapp_stack(service, flows, catalogs, clock=clock) as restarted:  # a new worker
        await restarted.settle()
        for phone, texts in expected.items():
            assert restarted.fake.bodies(phone) == texts
    assert {r.status for r in await rows(db)} == {"sent"}


# -- TWILIO_API_BASE_URL, and an event loop that keeps going ---------------------------------------


async def test_rest_calls_go_to_the_configured_base_url_with_the_account_and_basic_auth(
        wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    await queue(db, clock, PHONE, "Salom")
    await drain(wa)
    [request] = wa.fake.requests
    assert request["_path"] == tw.MESSAGES_PATH == f"/2010-04-01/Accounts/{tw.ACCOUNT_SID}/Messages.json"
    credentials = base64.b64encode(f"{tw.ACCOUNT_SID}:{tw.AUTH_TOKEN}".encode()).decode()
    assert request["_authorization"] == f"Basic {credentials}"
    assert (request["From"], request["To"], request["Body"]) == (tw.FROM, f"whatsapp:{PHONE}", "Salom")
    assert request["StatusCallback"] == tw.PUBLIC_BASE_URL + "/whatsapp/status"
    assert wa.sender.client.http_client.base_url == wa.fake.url


async def test_sending_does_not_block_the_event_loop(wa: Stack, db: AsyncEngine, clock: Clock) -> None:
    phones = [f"+99890000000{i}" for i in range(3)]
    for phone in phones:
        await queue(db, clock, phone, f"Salom {phone}")
    wa.fake.delay = 0.5
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        await drain(wa)
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
    assert ticks >= 10  # the loop ran other work while Twilio took its time
    assert wa.fake.most_in_flight == 3  # and the three chats were sent to at the same time
    assert sorted(wa.fake.bodies()) == sorted(f"Salom {p}" for p in phones)
