"""The Telegram channel with the real aiogram Bot against the fake Bot API server on 127.0.0.1, over the
real flows, catalogs and databases (SQLite and PostgreSQL): conversations in four languages through
buttons and typed text, the language picker, stale buttons, duplicates, the webhook's checks, media,
and the command menu. Delivery (the outbox) is in test_telegram_outbox.py."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram import MAX_UPDATE_FAILURES, TelegramChannel
from bot.core.engine import T_DID_IT_HELP, T_EMPTY, T_GLAD, T_MEDIA, T_PRIVACY, T_STALE, T_TALK
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage.models import Contact, ContactChannel, Conversation, InboxEvent, Message, Outbox
from tests.fake_telegram import SECRET, FakeTelegram, Stack, telegram_stack

LANGS = ("ru", "uz", "tg", "ky")


@pytest.fixture
async def tg(service: ConversationService, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[Stack]:
    async with telegram_stack(service, flows, catalogs) as stack:
        yield stack


async def count(db: AsyncEngine, model: type) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) of a sent message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def data_of(message: dict[str, Any], label: str) -> str:
    found = [data for text, data in buttons(message) if text == label]
    assert found, f"no button {label!r} in {buttons(message)}"
    return found[0]


def label(flows: FlowSet, node: str, index: int, lang: str) -> str:
    return flows.node(node).options[index - 1].label[lang]


def text(flows: FlowSet, node: str, lang: str) -> str:
    found = flows.node(node).text
    assert found is not None
    return found[lang].strip()


def helped_yes(message: dict[str, Any]) -> str:
    """The label of the "yes" button of "Did this help?"."""
    return next(text for text, data in buttons(message) if data == "f:yes")


# -- a whole conversation in each language ---------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_patent_payment_date_in_each_language(lang: str, tg: Stack, flows: FlowSet, catalogs: Catalogs,
                                                    db: AsyncEngine) -> None:
    """language_code picks the language; buttons (callback data from the keyboard the bot sent) and
    typed text (an option number, an option word, a date, a number) lead to the dated answer."""
    chat = 1000 + LANGS.index(lang)
    fake = tg.fake
    notice, menu = await tg.exchange(fake.text_update(chat, "/start", language_code=lang))
    assert notice["text"] == catalogs.gettext(lang, T_PRIVACY) and not buttons(notice)
    assert menu["text"] == text(flows, "main.menu", lang)
    assert [b[0] for b in buttons(menu)] == [o.label[lang] for o in flows.node("main.menu").options]
    assert all(len(data.encode()) <= 64 for _, data in buttons(menu))

    # a button press: the callback data of "Patent" in the keyboard the bot sent
    press = data_of(menu, label(flows, "main.menu", 1, lang))
    [patent] = await tg.exchange(fake.callback_update(chat, press))
    assert patent["text"] == text(flows, "patent.menu", lang)
    assert fake.of("answerCallbackQuery"), "the button's spinner is stopped"

    [citizenship] = await tg.exchange(fake.text_update(chat, "4", language_code=lang))  # an option number
    assert citizenship["text"] == text(flows, "patent.ask_cit_calc", lang)
    word = label(flows, "patent.ask_cit_calc", 1, lang).lower()  # an option word, typed in lower case
    [issue] = await tg.exchange(fake.text_update(chat, word, language_code=lang))
    assert issue["text"] == text(flows, "patent.ask_issue_date", lang)
    [months] = await tg.exchange(fake.text_update(chat, "10.03.2026", language_code=lang))
    assert months["text"] == text(flows, "patent.ask_months_paid", lang)
    answer, helped = await tg.exchange(fake.text_update(chat, "1", language_code=lang))
    assert format_date(dt.date(2026, 4, 9), "d MMMM y", locale=lang) in answer["text"]
    assert helped["text"] == catalogs.gettext(lang, T_DID_IT_HELP)

    glad, *_ = await tg.exchange(fake.callback_update(chat, data_of(helped, helped_yes(helped))))
    assert glad["text"] == catalogs.gettext(lang, T_GLAD) != T_GLAD

    async with db.connect() as conn:
        contact = (await conn.execute(select(Contact.lang, Contact.vars))).one()
        conversation = (await conn.execute(select(Conversation.topic))).scalar_one()
        unsent = (await conn.execute(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))).scalar()
    assert contact.lang == lang and contact.vars["citizenship"] == "uz"
    assert conversation == "patent_payment" and unsent == 0
    assert await count(db, InboxEvent) == 7  # every update stored once


@pytest.mark.parametrize(("language_code", "how", "lang"), [
    ("en", "button", "tg"),  # a language the hotline does not speak: the picker
    (None, "typed word", "ky"),  # no language_code at all
    ("de", "typed number", "uz"),
])
async def test_language_picker_when_telegram_gives_no_usable_language(
        language_code: str | None, how: str, lang: str, tg: Stack, flows: FlowSet, catalogs: Catalogs) -> None:
    chat = 2000
    fake = tg.fake
    [picker] = await tg.exchange(fake.text_update(chat, "/start", language_code=language_code))
    assert picker["text"] == text(flows, "language.pick", "ru")
    options = flows.node("language.pick").options
    index = next(i for i, o in enumerate(options, 1) if o.value == lang)
    if how == "button":
        update = fake.callback_update(chat, data_of(picker, options[index - 1].label["ru"]))
    elif how == "typed word":
        update = fake.text_update(chat, options[index - 1].label["ru"], language_code=language_code)
    else:
        update = fake.text_update(chat, str(index), language_code=language_code)
    notice, menu = await tg.exchange(update)
    assert notice["text"] == catalogs.gettext(lang, T_PRIVACY)
    assert menu["text"] == text(flows, "main.menu", lang)
    # the stored choice wins over a language_code that changes later
    [again] = await tg.exchange(fake.text_update(chat, "/menu", language_code="ru"))
    assert again["text"] == text(flows, "main.menu", lang)


async def test_language_code_with_a_region_is_used(tg: Stack, flows: FlowSet) -> None:
    _, menu = await tg.exchange(tg.fake.text_update(2100, "/start", language_code="uz-UZ"))
    assert menu["text"] == text(flows, "main.menu", "uz")


async def test_a_stale_button_reshows_the_current_step(tg: Stack, flows: FlowSet, catalogs: Catalogs) -> None:
    chat = 3000
    fake = tg.fake
    _, menu = await tg.exchange(fake.text_update(chat, "/start", language_code="tg"))
    [patent] = await tg.exchange(fake.callback_update(chat, data_of(menu, label(flows, "main.menu", 1, "tg"))))
    # the old main menu's "Registration" button: the conversation has left that menu
    stale, current = await tg.exchange(fake.callback_update(chat, data_of(menu, label(flows, "main.menu", 2, "tg"))))
    assert stale["text"] == catalogs.gettext("tg", T_STALE) != T_STALE
    assert current["text"] == patent["text"] == text(flows, "patent.menu", "tg")
    assert buttons(current) == buttons(patent)
    # the current menu's buttons still work; nonsense callback data is stale too
    [asked] = await tg.exchange(fake.callback_update(chat, data_of(current, label(flows, "patent.menu", 4, "tg"))))
    assert asked["text"] == text(flows, "patent.ask_cit_calc", "tg")
    stale, current = await tg.exchange(fake.callback_update(chat, "garbage:from:an:old:bot"))
    assert stale["text"] == catalogs.gettext("tg", T_STALE) and current["text"] == asked["text"]


# -- nothing twice ---------------------------------------------------------------------------------


async def test_duplicate_update_by_polling_gets_one_reply(tg: Stack, db: AsyncEngine) -> None:
    fake = tg.fake
    update = fake.text_update(4000, "/start", language_code="ru")
    fake.push(update)
    fake.push(dict(update))  # Telegram sends it again (the same update_id)
    await tg.settle()
    assert len(fake.sent(4000)) == 2  # the notice and the menu, once
    [menu] = await tg.exchange(fake.text_update(4000, "/menu"))
    assert menu["text"] == fake.sent(4000)[1]["text"]
    assert await count(db, InboxEvent) == 2
    assert await count(db, Message) == 2 + 1 + 1 + 1  # in, notice, menu; in, menu


async def test_duplicate_update_by_webhook_and_across_modes_gets_one_reply(tg: Stack, db: AsyncEngine) -> None:
    fake = tg.fake
    update = fake.text_update(4100, "/start", language_code="uz")
    assert len(await tg.exchange(update, via="webhook")) == 2
    assert await tg.exchange(update, via="webhook") == []  # redelivered: acknowledged, not answered
    assert await tg.exchange(update, via="polling") == []  # the same update by getUpdates (mode switched)
    later = fake.text_update(4100, "/menu", language_code="uz")
    assert len(await tg.exchange(later, via="polling")) == 1
    assert await tg.exchange(later, via="webhook") == []
    assert await count(db, InboxEvent) == 2
    async with db.connect() as conn:
        ids = (await conn.execute(select(InboxEvent.external_id).order_by(InboxEvent.id))).scalars().all()
    assert ids == [f"{tg.bot.id}:{update['update_id']}", f"{tg.bot.id}:{later['update_id']}"]


# -- the webhook's checks --------------------------------------------------------------------------


async def test_webhook_with_the_right_secret_is_handled(tg: Stack, db: AsyncEngine, flows: FlowSet) -> None:
    status, body = await tg.post(tg.fake.text_update(5000, "/start", language_code="ky"))
    assert (status, body) == (200, {})
    # stored before the answer: the reply is already in the outbox
    assert await count(db, InboxEvent) == 1 and await count(db, Outbox) == 2
    await tg.settle()
    assert tg.fake.sent(5000)[-1]["text"] == text(flows, "main.menu", "ky")


@pytest.mark.parametrize(("secret", "raw", "status", "error"), [
    ("wrong-secret", None, 403, "wrong secret token"),
    ("", None, 403, "wrong secret token"),
    (None, None, 401, "missing secret token"),
    ("webhook-secret-for-tests", b"{not json", 400, "the body is not JSON"),
    ("webhook-secret-for-tests", b"[1, 2, 3]", 400, "not a Telegram update"),
    ("webhook-secret-for-tests", b'{"hello": "world"}', 400, "not a Telegram update"),
    ("webhook-secret-for-tests", b'{"update_id": "seven", "message": {}}', 400, "not a Telegram update"),
    ("webhook-secret-for-tests", b"", 400, "the body is not JSON"),
])
async def test_forged_or_broken_webhook_stores_nothing(secret: str | None, raw: bytes | None, status: int,
                                                       error: str, tg: Stack, db: AsyncEngine) -> None:
    update = tg.fake.text_update(5100, "/start", language_code="ru")
    got, body = await tg.post(update, secret=secret, raw=raw)
    assert got == status and error in body["error"]
    for model in (InboxEvent, Message, Contact, ContactChannel, Conversation, Outbox):
        assert await count(db, model) == 0, model.__name__
    assert tg.fake.sent() == []


async def test_webhook_refuses_everything_when_no_secret_is_configured(tg: Stack, db: AsyncEngine) -> None:
    tg.channel.webhook_secret = None  # polling mode: the route exists but nobody may use it
    status, _ = await tg.post(tg.fake.text_update(5200, "/start"), secret="anything")
    assert status == 403 and await count(db, InboxEvent) == 0


async def test_updates_the_hotline_ignores_are_acknowledged(tg: Stack, db: AsyncEngine) -> None:
    fake = tg.fake
    group = fake.message_update(5300, chat_type="group", text="/start")
    status, _ = await tg.post(group)
    assert status == 200  # group chats are not the hotline's business
    blocked = {"update_id": next(fake.update_ids), "my_chat_member": {
        "chat": {"id": 5301, "type": "private"}, "from": {"id": 5301, "is_bot": False, "first_name": "M"},
        "date": 1, "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 1, "is_bot": True, "first_name": "B"}}}}
    status, _ = await tg.post(blocked)
    assert status == 200
    edited = {"update_id": next(fake.update_ids), "edited_message": fake.text_update(5302, "hi")["message"]}
    status, _ = await tg.post(edited)
    assert status == 200
    await tg.settle()
    assert fake.sent() == [] and await count(db, Message) == 0


# -- media -----------------------------------------------------------------------------------------


KINDS = ("photo", "document", "voice", "video", "location", "sticker")


def reference(message: dict[str, Any], kind: str) -> dict[str, str]:
    """What the message table should hold for a media message: the kind, Telegram's file id (the largest
    photo size) or the coordinates, and the MIME type when Telegram gives one."""
    if kind == "location":
        where = message["location"]
        return {"kind": kind, "ref": f"{where['latitude']},{where['longitude']}", "mime": ""}
    item = message["photo"][-1] if kind == "photo" else message[kind]
    mime = "image/jpeg" if kind == "photo" else item.get("mime_type", "")
    return {"kind": kind, "ref": item["file_id"], "mime": mime}


@pytest.mark.parametrize("lang", ["uz", "tg"])
async def test_media_is_stored_as_references_and_answered(lang: str, tg: Stack, db: AsyncEngine,
                                                          catalogs: Catalogs) -> None:
    fake = tg.fake
    for i, kind in enumerate(KINDS):
        chat = 6000 + i
        await tg.exchange(fake.text_update(chat, "/start", language_code=lang))
        update = fake.media_update(chat, kind, language_code=lang)
        replies = await tg.exchange(update, via="webhook" if i % 2 else "polling")
        async with db.connect() as conn:
            stored = (await conn.execute(select(Message.media, Message.text).where(
                Message.external_id == f"{tg.bot.id}:{update['update_id']}"))).one()
        assert stored.media == [reference(update["message"], kind)] and stored.text == ""
        [reply] = replies
        if kind == "sticker":  # a short, polite word; nothing for a mediator to see
            assert reply["text"] == catalogs.gettext(lang, T_EMPTY) != T_EMPTY
            assert not buttons(reply)
        else:  # a mediator can look at it: offered, in the migrant's language
            assert reply["text"] == catalogs.gettext(lang, T_MEDIA) != T_MEDIA
            assert buttons(reply)[0] == (catalogs.gettext(lang, T_TALK), "x:mediator")


async def test_photo_with_a_caption_keeps_both(tg: Stack, db: AsyncEngine, flows: FlowSet) -> None:
    fake = tg.fake
    await tg.exchange(fake.text_update(6100, "/start", language_code="ru"))
    [reply] = await tg.exchange(fake.media_update(6100, "photo", language_code="ru", caption="1"))
    assert reply["text"] == text(flows, "patent.menu", "ru")  # the caption is read like a message
    async with db.connect() as conn:
        stored = (await conn.execute(select(Message.media, Message.text).where(Message.text == "1"))).one()
    assert stored.media[0]["kind"] == "photo"


async def test_a_mediator_offer_after_a_photo_leads_to_the_queue(tg: Stack, db: AsyncEngine,
                                                                 catalogs: Catalogs) -> None:
    fake = tg.fake
    await tg.exchange(fake.text_update(6200, "/start", language_code="ky"))
    [offer] = await tg.exchange(fake.media_update(6200, "voice", language_code="ky"))
    [handoff] = await tg.exchange(fake.callback_update(6200, "x:mediator"))
    assert handoff["text"]
    async with db.connect() as conn:
        status = (await conn.execute(select(Conversation.status))).scalar_one()
    assert status == "WAITING"
    assert await tg.exchange(fake.media_update(6200, "photo", language_code="ky")) == []  # the bot is silent
    async with db.connect() as conn:
        media = (await conn.execute(select(Message.media).where(Message.media.is_not(None))
                                    .order_by(Message.id))).scalars().all()
    assert [m[0]["kind"] for m in media] == ["voice", "photo"]  # both kept for the mediator
    assert offer["text"] == catalogs.gettext("ky", T_MEDIA)


# -- the command menu ------------------------------------------------------------------------------


async def test_command_menu_in_every_language(tg: Stack, catalogs: Catalogs) -> None:
    await tg.channel.set_commands()
    calls = tg.fake.of("setMyCommands")
    assert len(calls) == 5
    assert sorted(str(c.params.get("language_code")) for c in calls) == sorted(["None", *LANGS])
    for call in calls:
        assert call.params["scope"] == {"type": "default"}
        commands = call.params["commands"]
        assert [c["command"] for c in commands] == ["start", "menu", "lang", "operator", "forget"]
        assert all(1 <= len(c["description"]) <= 256 for c in commands)
    by_lang = {c.params.get("language_code"): {x["command"]: x["description"] for x in c.params["commands"]}
               for c in calls}
    for lang in LANGS:  # "Main menu" and "Talk to a person" are translated already
        assert by_lang[lang]["menu"] == catalogs.gettext(lang, "Main menu") != "Main menu"
        assert by_lang[lang]["operator"] == catalogs.gettext(lang, "Talk to a person") != "Talk to a person"
    assert by_lang[None] == by_lang["ru"]  # everyone else sees the Russian menu


# -- polling keeps going -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "status", "description"), [
    ("deleteWebhook", 500, "Internal Server Error"),  # the Bot API is down when the hotline starts
    ("getUpdates", 502, "Bad Gateway"),
    ("getUpdates", 409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                        "instance is running"),  # two instances polling for a moment (a deploy)
])
async def test_polling_survives_bot_api_errors(method: str, status: int, description: str,
                                               service: ConversationService, flows: FlowSet, catalogs: Catalogs,
                                               monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(TelegramChannel, "poll_backoff", 0.05)
    fake = FakeTelegram()
    fake.fail(method, status, description, times=2)
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        async with telegram_stack(service, flows, catalogs, fake=fake) as tg:
            _, menu = await tg.exchange(fake.text_update(7000, "/start", language_code="ky"))
            assert menu["text"] == text(flows, "main.menu", "ky")
    assert len([c for c in fake.of(method) if c.params.get("_ok") is None]) >= 2
    assert description.split(":")[0] in caplog.text


class FailsOnce:
    """Wraps ConversationService.handle: the first call fails (the database went away for a moment)."""

    def __init__(self, service: ConversationService):
        self.real, self.failed = service.handle, False

    async def __call__(self, inbound: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the database went away")
        return await self.real(inbound)


async def test_an_update_that_fails_is_fetched_again_and_answered_once(
        tg: Stack, service: ConversationService, db: AsyncEngine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(TelegramChannel, "poll_backoff", 0.05)
    monkeypatch.setattr(service, "handle", FailsOnce(service))
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        replies = await tg.exchange(tg.fake.text_update(7100, "/start", language_code="tg"))
    assert len(replies) == 2 and "it will be fetched again" in caplog.text
    assert await count(db, InboxEvent) == 1


async def test_a_webhook_update_that_fails_gets_a_500_and_is_answered_when_sent_again(
        tg: Stack, service: ConversationService, db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "handle", FailsOnce(service))
    update = tg.fake.text_update(7200, "/start", language_code="uz")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with tg.http.post(f"{tg.base}/telegram/webhook", json=update, headers=headers) as res:
        assert res.status == 500  # not acknowledged: Telegram sends it again
    assert await count(db, InboxEvent) == 0  # the transaction was rolled back
    assert len(await tg.exchange(update, via="webhook")) == 2
    assert await tg.exchange(update, via="webhook") == []


class FailsOn:
    """Wraps ConversationService.handle: every message with this text fails (a poison update)."""

    def __init__(self, service: ConversationService, text: str):
        self.real, self.text = service.handle, text

    async def __call__(self, inbound: Any) -> Any:
        if inbound.text == self.text:
            raise RuntimeError("a bug this message always hits")
        return await self.real(inbound)


async def test_an_update_that_always_fails_is_set_aside_and_the_others_are_answered(
        tg: Stack, service: ConversationService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(TelegramChannel, "poll_backoff", 0.01)
    monkeypatch.setattr(service, "handle", FailsOn(service, "poison"))
    tg.channel.dead_letters = tmp_path / "dead-letters"
    poison = tg.fake.text_update(7300, "poison", language_code="ru")
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        tg.fake.push(poison)
        replies = await tg.exchange(tg.fake.text_update(7300, "/start", language_code="ru"))
    assert len(replies) == 2  # the next message is answered: the privacy notice and the menu
    kept = tmp_path / "dead-letters" / f"telegram-{tg.bot.id}-{poison['update_id']}.json"
    assert json.loads(kept.read_text(encoding="utf-8"))["message"]["text"] == "poison"  # nothing lost
    assert f"failed {MAX_UPDATE_FAILURES} times; set aside" in caplog.text
