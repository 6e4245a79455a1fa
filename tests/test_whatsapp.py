"""The WhatsApp channel with the real twilio client against the fake Twilio server on 127.0.0.1, over the
real flows, catalogs and databases (SQLite and PostgreSQL): conversations in four languages with the
language guessed from the number, numbered menus answered by number or by words, the language picker,
signed, forged and malformed webhooks, duplicates, media and locations, and status callbacks.
Delivery (the outbox, the 24-hour window) is in test_whatsapp_outbox.py; `hotline serve` in
test_whatsapp_e2e.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import check_settings, whatsapp_enabled
from bot.channels.whatsapp import EMPTY_TWIML, guess_lang, render
from bot.core.engine import T_DID_IT_HELP, T_EMPTY, T_GLAD, T_MEDIA, T_PRIVACY, T_TALK
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.settings import Settings, ValidationError, template_variables
from bot.storage.models import Contact, ContactChannel, Conversation, InboxEvent, Message, Outbox
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, PUBLIC_BASE_URL, Stack, sign, whatsapp_stack

# A number in each country, and a greeting a migrant might open with.
PHONES = {"ru": "+79161234567", "uz": "+998901234567", "tg": "+992927654321", "ky": "+996555123456"}
HELLO = {"ru": "Здравствуйте", "uz": "Assalomu alaykum", "tg": "Салом", "ky": "Саламатсызбы"}
LANGS = tuple(PHONES)
TABLES = (InboxEvent, Message, Contact, ContactChannel, Conversation, Outbox)


@pytest.fixture
async def wa(service: ConversationService, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[Stack]:
    async with whatsapp_stack(service, flows, catalogs) as stack:
        yield stack


async def count(db: AsyncEngine, model: type) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


def text(flows: FlowSet, node: str, lang: str) -> str:
    found = flows.node(node).text
    assert found is not None
    return found[lang].strip()


def label(flows: FlowSet, node: str, index: int, lang: str) -> str:
    return flows.node(node).options[index - 1].label[lang]


def numbered(flows: FlowSet, node: str, lang: str) -> str:
    """A menu as WhatsApp shows it: the text, a blank line, then "1. label" per option."""
    options = [f"{i}. {o.label[lang]}" for i, o in enumerate(flows.node(node).options, 1)]
    return text(flows, node, lang) + "\n\n" + "\n".join(options)


# -- a whole conversation in each language ---------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_patent_payment_date_in_each_language(lang: str, wa: Stack, flows: FlowSet, catalogs: Catalogs,
                                                    db: AsyncEngine) -> None:
    """The country code picks the language; numbered menus are answered by number (bare, with a dot,
    with spaces) and by the option's words, down to the dated answer of the payment calculator."""
    phone = PHONES[lang]
    notice, menu = await wa.exchange(phone, HELLO[lang])
    assert notice == catalogs.gettext(lang, T_PRIVACY) != T_PRIVACY
    assert menu == numbered(flows, "main.menu", lang)
    assert f"\n7. {label(flows, 'main.menu', 7, lang)}\n" in menu  # "change the language" is offered

    [patent] = await wa.exchange(phone, " 1 ")
    assert patent == numbered(flows, "patent.menu", lang)
    [citizenship] = await wa.exchange(phone, "4.")
    assert citizenship == numbered(flows, "patent.ask_cit_calc", lang)
    [issue] = await wa.exchange(phone, label(flows, "patent.ask_cit_calc", 1, lang).lower())  # the words
    assert issue == text(flows, "patent.ask_issue_date", lang)
    [months] = await wa.exchange(phone, "10.03.2026")
    assert months == text(flows, "patent.ask_months_paid", lang)
    answer, helped = await wa.exchange(phone, "1")
    assert format_date(dt.date(2026, 4, 9), "d MMMM y", locale=lang) in answer
    yes = catalogs.gettext(lang, "Yes")
    assert helped == f"{catalogs.gettext(lang, T_DID_IT_HELP)}\n\n1. {yes}\n2. {catalogs.gettext(lang, 'No')}"
    [glad, *_] = await wa.exchange(phone, "1")
    assert glad.startswith(catalogs.gettext(lang, T_GLAD)) and catalogs.gettext(lang, T_GLAD) != T_GLAD

    # every message went to the migrant's WhatsApp number from the hotline's sender
    assert {(m["From"], m["To"]) for m in wa.fake.sent()} == {(FROM, f"whatsapp:{phone}")}
    async with db.connect() as conn:
        contact = (await conn.execute(select(Contact.lang, Contact.vars))).one()
        channel = (await conn.execute(select(ContactChannel.external_id, ContactChannel.last_inbound_at))).one()
        topic = (await conn.execute(select(Conversation.topic))).scalar_one()
        unsent = (await conn.execute(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))).scalar()
    assert contact.lang == lang and contact.vars["citizenship"] == "uz"
    assert channel.external_id == phone and channel.last_inbound_at is not None
    assert topic == "patent_payment" and unsent == 0
    assert await count(db, InboxEvent) == 7  # every message stored once


@pytest.mark.parametrize(("typed", "lang"), [("2", "uz"), ("2.", "ky"), (" 2 ", "tg"), ("2)", "ru"), ("label", "uz"),
                                             ("LABEL", "ky"), ("label with spaces", "tg")])
async def test_an_option_is_chosen_by_number_or_by_words(typed: str, lang: str, wa: Stack, flows: FlowSet) -> None:
    phone = PHONES[lang]
    await wa.exchange(phone, HELLO[lang])
    words = label(flows, "main.menu", 2, lang)
    typed = {"label": words, "LABEL": words.upper(), "label with spaces": f"  {words}  "}.get(typed, typed)
    [registration] = await wa.exchange(phone, typed)
    assert registration == numbered(flows, "registration.menu", lang)


def test_the_language_is_guessed_from_the_country_code() -> None:
    assert [guess_lang(p) for p in PHONES.values()] == list(LANGS)
    assert guess_lang("whatsapp:+998901234567") == "uz"
    assert guess_lang("+77011234567") == "ru"  # Kazakhstan shares +7: Russian is the sensible start
    assert guess_lang("+4915112345678") is None and guess_lang("") is None


async def test_an_unknown_country_gets_the_picker(wa: Stack, flows: FlowSet, catalogs: Catalogs) -> None:
    phone = "+4915112345678"
    [picker] = await wa.exchange(phone, "hello")
    assert picker == numbered(flows, "language.pick", "ru")
    options = flows.node("language.pick").options
    tg = next(i for i, o in enumerate(options, 1) if o.value == "tg")
    notice, menu = await wa.exchange(phone, f"{tg}.")
    assert notice == catalogs.gettext("tg", T_PRIVACY)
    assert menu == numbered(flows, "main.menu", "tg")


async def test_the_guess_is_corrected_with_the_picker_and_the_choice_is_kept(wa: Stack, flows: FlowSet,
                                                                            db: AsyncEngine) -> None:
    """An Uzbek with a Russian SIM card: the first answer is in Russian, and offers to change the language."""
    phone = "+79031112233"
    _, menu = await wa.exchange(phone, "Привет")
    assert menu == numbered(flows, "main.menu", "ru")
    [picker] = await wa.exchange(phone, "7")  # "Сменить язык"
    assert picker.startswith(text(flows, "language.pick", "ru"))
    uz = next(o for o in flows.node("language.pick").options if o.value == "uz")
    replies = await wa.exchange(phone, uz.label["ru"])  # "Oʻzbekcha", by its words
    assert replies[-1] == numbered(flows, "main.menu", "uz")
    [again] = await wa.exchange(phone, "menyu")  # later messages: the stored choice beats the +7
    assert again == numbered(flows, "main.menu", "uz")
    async with db.connect() as conn:
        assert (await conn.execute(select(Contact.lang))).scalar_one() == "uz"


# -- the webhook's checks --------------------------------------------------------------------------


async def test_a_signed_webhook_is_stored_before_the_empty_twiml_answer(wa: Stack, db: AsyncEngine,
                                                                       flows: FlowSet) -> None:
    form = wa.inbound(PHONES["tg"], HELLO["tg"])
    async with wa.http.post(wa.base + "/whatsapp/webhook", data=form,
                            headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/whatsapp/webhook", form)}) as res:
        assert res.status == 200
        assert res.content_type in ("application/xml", "text/xml")
        assert await res.text() == EMPTY_TWIML
    # the answers are already in the outbox when Twilio gets its 200; they leave through the REST API
    assert await count(db, InboxEvent) == 1 and await count(db, Outbox) == 2
    await wa.settle()
    assert wa.fake.bodies(PHONES["tg"])[-1] == numbered(flows, "main.menu", "tg")


@pytest.mark.parametrize("signed_url", [
    f"{PUBLIC_BASE_URL}:443/whatsapp/webhook",  # Twilio sometimes signs with the port: both are accepted
    f"{PUBLIC_BASE_URL}/whatsapp/webhook",
])
async def test_the_signature_is_checked_with_or_without_the_port(signed_url: str, wa: Stack) -> None:
    status, _ = await wa.post("/whatsapp/webhook", wa.inbound(PHONES["ru"], "меню"), signed_url=signed_url)
    assert status == 200


async def test_the_query_string_is_part_of_the_signed_url(wa: Stack) -> None:
    path = "/whatsapp/webhook?desk=tula"  # a webhook URL configured with parameters in the Twilio console
    form = wa.inbound(PHONES["ru"], "меню")
    assert (await wa.post(path, form))[0] == 200
    status, _ = await wa.post(path, wa.inbound(PHONES["ru"], "меню"), signed_url=PUBLIC_BASE_URL + "/whatsapp/webhook")
    assert status == 403


FORGERIES = {
    "missing": lambda wa, form: {"signature": None},
    "empty": lambda wa, form: {"signature": ""},
    "garbage": lambda wa, form: {"signature": "bm90IGEgc2lnbmF0dXJl"},
    "for the proxied URL": lambda wa, form: {"signed_url": wa.base + "/whatsapp/webhook"},
    "for http instead of https": lambda wa, form: {"signed_url": "http://hotline.example.test/whatsapp/webhook"},
    "for another path": lambda wa, form: {"signed_url": PUBLIC_BASE_URL + "/whatsapp/status"},
    "with another token": lambda wa, form: {"signature": sign(PUBLIC_BASE_URL + "/whatsapp/webhook", form,
                                                              token=AUTH_TOKEN + "x")},
    "for another body": lambda wa, form: {"signature": sign(PUBLIC_BASE_URL + "/whatsapp/webhook",
                                                            {**form, "Body": "something else"})},
}


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_or_missing_signature_is_refused_and_nothing_is_stored(forgery: str, wa: Stack,
                                                                            db: AsyncEngine) -> None:
    form = wa.inbound(PHONES["uz"], HELLO["uz"])
    status, body = await wa.post("/whatsapp/webhook", form, **FORGERIES[forgery](wa, form))
    assert status == 403 and "signature" in body
    for model in TABLES:
        assert await count(db, model) == 0, model.__name__
    await asyncio.sleep(0.05)
    assert wa.fake.requests == []


@pytest.mark.parametrize("missing", ["MessageSid", "From", "both"])
async def test_a_signed_form_without_message_sid_or_sender_is_a_bad_request(missing: str, wa: Stack,
                                                                            db: AsyncEngine) -> None:
    form = wa.inbound(PHONES["ky"], HELLO["ky"])
    for key in ("MessageSid", "From") if missing == "both" else (missing,):
        del form[key]
    status, body = await wa.post("/whatsapp/webhook", form)
    assert status == 400 and "MessageSid and From are required" in body
    for model in TABLES:
        assert await count(db, model) == 0, model.__name__


async def test_a_body_that_is_not_a_form_is_refused(wa: Stack, db: AsyncEngine) -> None:
    async with wa.http.post(wa.base + "/whatsapp/webhook", json={"MessageSid": "SM1", "From": "whatsapp:+7"},
                            headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/whatsapp/webhook", {})}) as res:
        assert res.status in (400, 403)
    assert await count(db, InboxEvent) == 0


# -- nothing twice ---------------------------------------------------------------------------------


async def test_a_retried_webhook_gets_no_second_reply(wa: Stack, db: AsyncEngine) -> None:
    phone = PHONES["uz"]
    form = wa.inbound(phone, HELLO["uz"])
    assert (await wa.post("/whatsapp/webhook", form))[0] == 200
    await wa.settle()
    assert len(wa.fake.sent(phone)) == 2
    status, body = await wa.post("/whatsapp/webhook", form)  # Twilio retries (our 200 got lost)
    assert (status, body) == (200, EMPTY_TWIML)  # acknowledged, so Twilio stops retrying
    await wa.settle()
    assert len(wa.fake.sent(phone)) == 2
    assert await count(db, InboxEvent) == 1
    async with db.connect() as conn:
        incoming = (await conn.execute(select(func.count()).select_from(Message)
                                       .where(Message.direction == "in"))).scalar_one()
    assert incoming == 1


async def test_the_same_message_posted_twice_at_once_is_answered_once(wa: Stack, db: AsyncEngine) -> None:
    phone = PHONES["tg"]
    form = wa.inbound(phone, HELLO["tg"])
    results = await asyncio.gather(*(wa.post("/whatsapp/webhook", form) for _ in range(3)))
    assert [status for status, _ in results] == [200, 200, 200]
    await wa.settle()
    assert len(wa.fake.sent(phone)) == 2 and await count(db, Outbox) == 2
    assert await count(db, InboxEvent) == 1


# -- media and locations ---------------------------------------------------------------------------


def media_form(urls: dict[str, str]) -> dict[str, str]:
    form = {"NumMedia": str(len(urls)), "MessageType": "image"}
    for i, (url, mime) in enumerate(urls.items()):
        form[f"MediaUrl{i}"], form[f"MediaContentType{i}"] = url, mime
    return form


MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM{0}/Media/ME{0}"


@pytest.mark.parametrize("lang", ["uz", "tg"])
async def test_media_is_stored_as_references_and_answered_with_a_mediator_offer(
        lang: str, wa: Stack, db: AsyncEngine, catalogs: Catalogs) -> None:
    phone = PHONES[lang]
    await wa.exchange(phone, HELLO[lang])
    photo, pdf = MEDIA_URL.format(1), MEDIA_URL.format(2)
    form = wa.inbound(phone, "", **media_form({photo: "image/jpeg", pdf: "application/pdf"}))
    assert (await wa.post("/whatsapp/webhook", form))[0] == 200
    await wa.settle()
    offer = wa.fake.bodies(phone)[-1]
    talk, menu = catalogs.gettext(lang, T_TALK), catalogs.gettext(lang, "Main menu")
    assert offer == f"{catalogs.gettext(lang, T_MEDIA)}\n\n1. {talk}\n2. {menu}"
    assert catalogs.gettext(lang, T_MEDIA) != T_MEDIA
    async with db.connect() as conn:
        stored = (await conn.execute(select(Message.media, Message.text)
                                     .where(Message.external_id == form["MessageSid"]))).one()
    assert stored.media == [{"kind": "photo", "ref": photo, "mime": "image/jpeg"},
                            {"kind": "document", "ref": pdf, "mime": "application/pdf"}]
    assert stored.text == ""


@pytest.mark.parametrize(("mime", "kind"), [("audio/ogg", "voice"), ("video/mp4", "video"),
                                            ("image/webp", "photo"), ("text/vcard", "document")])
async def test_each_kind_of_media(mime: str, kind: str, wa: Stack, db: AsyncEngine) -> None:
    phone = PHONES["ru"]
    await wa.exchange(phone, HELLO["ru"])
    form = wa.inbound(phone, "", **media_form({MEDIA_URL.format(3): mime}))
    await wa.post("/whatsapp/webhook", form)
    async with db.connect() as conn:
        media = (await conn.execute(select(Message.media).where(Message.external_id == form["MessageSid"]))).scalar()
    assert media == [{"kind": kind, "ref": MEDIA_URL.format(3), "mime": mime}]


async def test_a_location_is_stored_and_the_offer_leads_to_a_mediator(wa: Stack, db: AsyncEngine,
                                                                      catalogs: Catalogs) -> None:
    phone = PHONES["ky"]
    await wa.exchange(phone, HELLO["ky"])
    [offer] = await wa.exchange(phone, "", Latitude="54.193122", Longitude="37.617348", MessageType="location",
                                Address="Тула, пр. Ленина 1", Label="Миграционный центр")
    assert offer.startswith(catalogs.gettext("ky", T_MEDIA) + "\n\n1. " + catalogs.gettext("ky", T_TALK))
    async with db.connect() as conn:
        media = (await conn.execute(select(Message.media).where(Message.media.is_not(None)))).scalar_one()
    assert media == [{"kind": "location", "ref": "54.193122,37.617348", "mime": ""}]

    handoff = await wa.exchange(phone, "1")  # the offer, taken by its number
    assert handoff
    async with db.connect() as conn:
        assert (await conn.execute(select(Conversation.status))).scalar_one() == "WAITING"
    # with a person on the way the bot is silent, and what the migrant sends is kept for them
    assert await wa.exchange(phone, "", **media_form({MEDIA_URL.format(4): "image/png"})) == []
    async with db.connect() as conn:
        kinds = (await conn.execute(select(Message.media).where(Message.media.is_not(None))
                                    .order_by(Message.id))).scalars().all()
    assert [m[0]["kind"] for m in kinds] == ["location", "photo"]


async def test_a_photo_with_a_caption_is_read_like_a_message(wa: Stack, db: AsyncEngine, flows: FlowSet) -> None:
    phone = PHONES["ru"]
    await wa.exchange(phone, HELLO["ru"])
    [reply] = await wa.exchange(phone, "1", **media_form({MEDIA_URL.format(5): "image/jpeg"}))
    assert reply == numbered(flows, "patent.menu", "ru")
    async with db.connect() as conn:
        stored = (await conn.execute(select(Message.media).where(Message.text == "1"))).scalar_one()
    assert stored[0]["kind"] == "photo"


async def test_an_empty_message_gets_a_polite_word(wa: Stack, catalogs: Catalogs) -> None:
    phone = PHONES["tg"]
    await wa.exchange(phone, HELLO["tg"])
    assert await wa.exchange(phone, "   ") == [catalogs.gettext("tg", T_EMPTY)]


# -- status callbacks ------------------------------------------------------------------------------


async def outbox_row(db: AsyncEngine, sid: str) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(select(Outbox.status, Outbox.error, Outbox.sent_at)
                                   .where(Outbox.external_id == sid))).one()


@pytest.mark.parametrize(("states", "code", "final", "error"), [
    (["sent"], "", "sent", None),
    (["sent", "delivered"], "", "delivered", None),
    (["sent", "delivered", "read"], "", "read", None),
    (["queued", "sending"], "", "sent", None),
    (["sent", "failed"], "30008", "failed", "Twilio error 30008"),
    (["sent", "undelivered"], "30003", "undelivered", "Twilio error 30003"),
    # Twilio's callbacks may arrive out of order: a late one never moves the row back
    (["read", "delivered", "sent"], "", "read", None),
    (["delivered", "sent"], "", "delivered", None),
])
async def test_status_callbacks_update_the_outbox_row(states: list[str], code: str, final: str, error: str | None,
                                                      wa: Stack, db: AsyncEngine) -> None:
    phone = PHONES["uz"]
    await wa.exchange(phone, HELLO["uz"])
    sid = wa.fake.sent(phone)[-1]["_sid"]
    other = wa.fake.sent(phone)[0]["_sid"]
    assert (await outbox_row(db, sid)).status == "sent"
    for i, state in enumerate(states):
        status, _ = await wa.status(sid, state, error_code=code if i == len(states) - 1 else "", to=phone)
        assert status == 200
    row = await outbox_row(db, sid)
    assert (row.status, row.error) == (final, error)
    assert row.sent_at is not None
    assert (await outbox_row(db, other)).status == "sent"  # only the row with that MessageSid


async def test_forged_status_callbacks_change_nothing(wa: Stack, db: AsyncEngine) -> None:
    phone = PHONES["ru"]
    await wa.exchange(phone, HELLO["ru"])
    sid = wa.fake.sent(phone)[-1]["_sid"]
    form = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30008", "AccountSid": "AC0"}
    for kwargs in ({"signature": None}, {"signature": "forged"}, {"signed_url": wa.base + "/whatsapp/status"},
                   {"signed_url": PUBLIC_BASE_URL + "/whatsapp/webhook"}):
        status, _ = await wa.post("/whatsapp/status", form, **kwargs)
        assert status == 403, kwargs
    assert (await outbox_row(db, sid)).status == "sent"


@pytest.mark.parametrize("form", [{"MessageStatus": "delivered"}, {"MessageSid": "SM1", "MessageStatus": "lost"},
                                  {"MessageSid": "SM1"}])
async def test_malformed_status_callbacks_are_bad_requests(form: dict[str, str], wa: Stack) -> None:
    assert (await wa.post("/whatsapp/status", form))[0] == 400


async def test_a_status_callback_for_an_unknown_message_is_acknowledged(wa: Stack) -> None:
    """A message sent by another system on the same number: Twilio must not retry it for ever."""
    assert (await wa.status("SM" + "9" * 32, "delivered"))[0] == 200


def test_render_numbers_the_options() -> None:
    assert render({"text": "Выберите", "buttons": [{"label": "Да"}, {"label": "Нет"}]}) == "Выберите\n\n1. Да\n2. Нет"
    assert render({"text": "Просто текст", "buttons": []}) == "Просто текст"
    assert render({"text": None}) == ""


# -- configuration ---------------------------------------------------------------------------------


def twilio_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
                              "twilio_whatsapp_from": FROM, "public_base_url": PUBLIC_BASE_URL,
                              "telegram_bot_token": None, **overrides}
    return Settings(**values)


def test_whatsapp_is_served_when_its_three_settings_are_set() -> None:
    assert whatsapp_enabled(twilio_settings())
    assert not whatsapp_enabled(twilio_settings(twilio_whatsapp_from=""))
    assert not whatsapp_enabled(twilio_settings(twilio_auth_token=None))
    check_settings(twilio_settings(twilio_template_content_sid="HX1", twilio_template_variables='{"1": "Tula"}'))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"public_base_url": ""}, "WhatsApp needs PUBLIC_BASE_URL"),
    ({"public_base_url": "hotline.example.test"}, "WhatsApp needs PUBLIC_BASE_URL"),
    ({"twilio_template_variables": "[1, 2]"}, "TWILIO_TEMPLATE_VARIABLES"),
    ({"twilio_template_variables": "{not json"}, "TWILIO_TEMPLATE_VARIABLES"),
])
def test_whatsapp_settings_that_cannot_work_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        twilio_settings(**overrides)


def test_template_variables_are_passed_as_json() -> None:
    assert template_variables("") == ""
    assert json.loads(template_variables('{"1": "Линия помощи", "2": "Tula"}')) == {"1": "Линия помощи", "2": "Tula"}
