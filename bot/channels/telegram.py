"""Telegram: a thin aiogram 3 adapter around the conversation service.

Updates (long polling or the webhook) become `Inbound`; the service stores them (inbox, unique per bot
and update_id) before the webhook is acknowledged or the polling offset moves on. Replies leave through
the outbox; `TelegramSender` renders them: text split within Telegram's 4,096 UTF-16 units, inline
buttons whose callback data is the engine's payload (node id and option number, never labels).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web
from pydantic import ValidationError

from bot.channels.jsonbody import read_json
from bot.core.model import Inbound, Media
from bot.core.texts import N_, Texts
from bot.outbox import Rejected, RetryLater, Transient, Unreachable
from bot.service import ConversationService
from bot.settings import DEFAULT_SQLITE
from bot.vocabulary import (
    CHANNELS,
    DEFAULT_LANG,  # the command menu for those whose Telegram speaks none of ours
    LANGS,
    mask,
)

log = logging.getLogger(__name__)
CHANNEL = "telegram"
LIMIT = CHANNELS[CHANNEL].max_chars or 4096  # UTF-16 code units in one message
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_FAILURES = 5  # then the update is set aside as a file, for a person to look at
MAX_UPDATE_BYTES = 256 * 1024  # two 4,096-character texts (a message and the one it replies to), escaped
DEAD_LETTERS = DEFAULT_SQLITE.parent / "dead-letters"
COMMANDS = [
    ("start", N_("Start again")),
    ("menu", N_("Main menu")),
    ("lang", N_("Change the language")),
    ("operator", N_("Talk to a person")),
    ("forget", N_("Delete my data")),
]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at paragraph breaks, else line breaks, else spaces."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = _prefix(rest, limit)
        cut = _cut(window)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [p for p in parts if p]


def _cut(window: str) -> int:
    """Where a part ends: the last paragraph break in the window, else the last line break, else the last
    space (each only past the first third, so that parts stay long), else the window's end."""
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at > len(window) // 3:
            return at
    return max(len(window), 1)


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text


def keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return _keyboard(tuple((b["label"], b["payload"]) for b in buttons))


@lru_cache(maxsize=1024)
def _keyboard(buttons: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup:
    """Made once for each set of buttons: a menu's are the same in every chat of its language (aiogram
    only reads the markup it sends)."""
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label[:64], callback_data=payload)]
                                                 for label, payload in buttons])


def media_of(message: Message) -> tuple[Media, ...]:
    found: list[Media] = []
    if message.photo:
        found.append(Media("photo", message.photo[-1].file_id, "image/jpeg"))
    for kind in ("document", "voice", "video", "video_note", "audio"):
        item = getattr(message, kind)
        if item is not None:
            found.append(Media(kind, item.file_id, getattr(item, "mime_type", None) or ""))
    if message.location:
        found.append(Media("location", f"{message.location.latitude},{message.location.longitude}"))
    if message.contact:
        found.append(Media("contact", message.contact.phone_number))
    if message.sticker:
        found.append(Media("sticker", message.sticker.file_id))
    return tuple(found)


def make_bot(token: str, api_base: str) -> Bot:
    server = TelegramAPIServer.from_base(api_base.rstrip("/"))
    return Bot(token, session=AiohttpSession(api=server))


class TelegramSender:
    """Delivers outbox payloads to Telegram, mapping its errors to the outbox's retry policy."""

    def __init__(self, bot: Bot):
        self.bot = bot

    async def send(self, address: str, payload: dict[str, Any]) -> None:
        parts = split_text(str(payload.get("text") or "…"))
        done = int(payload.get("sent_parts", 0))
        markup = keyboard(list(payload.get("buttons") or []))
        for index in range(done, len(parts)):
            last = index == len(parts) - 1
            try:
                await self.bot.send_message(int(address), parts[index], reply_markup=markup if last else None)
            except TelegramRetryAfter as exc:
                raise RetryLater(exc.retry_after, index - done) from exc
            except TelegramForbiddenError as exc:
                raise Unreachable(exc.message) from exc
            except TelegramBadRequest as exc:
                raise Rejected(exc.message) from exc
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
                raise Transient(str(exc), index - done) from exc
            except TelegramAPIError as exc:
                raise Transient(str(exc), index - done) from exc


class TelegramChannel:
    def __init__(self, bot: Bot, service: ConversationService, texts: Texts, wake: Callable[[], None],
                 webhook_secret: str | None = None, dead_letters: Path = DEAD_LETTERS):
        self.bot, self.service, self.texts, self.wake = bot, service, texts, wake
        self.webhook_secret = webhook_secret
        self.dead_letters = dead_letters
        self._failures: dict[int, int] = {}  # update_id -> failed attempts
        self.dp = Dispatcher()
        router = Router()
        router.message.register(self.on_message)
        router.callback_query.register(self.on_callback)
        router.my_chat_member.register(self.on_member)
        self.dp.include_router(router)

    # -- updates -> the service ------------------------------------------------------------------

    def _inbound(self, update: Update, chat_id: int, user: Any, **kw: Any) -> Inbound:
        code = (getattr(user, "language_code", None) or "")[:2]
        return Inbound(channel=CHANNEL, user=str(chat_id), external_id=f"{self.bot.id}:{update.update_id}",
                       lang_hint=code if code in LANGS else None, **kw)

    async def on_message(self, message: Message, event_update: Update) -> None:
        if message.chat.type != "private":
            return  # the hotline talks to migrants one to one
        text = message.text or message.caption or ""
        media = media_of(message)
        await self.service.handle(self._inbound(event_update, message.chat.id, message.from_user,
                                                text=text, media=media))
        self.wake()

    async def on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        try:
            await query.answer()  # stops the spinner on the button; nothing is lost if it fails
        except TelegramAPIError as exc:
            log.info("answerCallbackQuery failed: %s", exc)
        chat_id = query.message.chat.id if query.message else query.from_user.id
        await self.service.handle(self._inbound(event_update, chat_id, query.from_user, payload=query.data or ""))
        self.wake()

    async def on_member(self, event: ChatMemberUpdated) -> None:
        if event.new_chat_member.status == "kicked":
            log.info("telegram %s blocked the bot", mask(str(event.chat.id)))

    # -- long polling ----------------------------------------------------------------------------

    poll_backoff = 1.0  # seconds before polling again after a failure; doubles up to a minute

    async def poll(self) -> None:
        """getUpdates until cancelled. The offset moves past an update only once it is stored and
        handled, so a crash redelivers it and the inbox drops the repeat. No error of the Bot API ends
        polling (down at start-up, 5xx, timeouts, a 409 while another instance still polls, even a
        401): it is logged and tried again, backing off, while the rest of the hotline keeps serving."""
        webhook_deleted = False
        offset: int | None = None
        backoff = self.poll_backoff
        while True:
            try:
                if not webhook_deleted:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except (TelegramAPIError, TimeoutError) as exc:
                method = "getUpdates" if webhook_deleted else "deleteWebhook"
                log.warning("%s failed (%s); retrying in %.1f s", method, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            backoff = self.poll_backoff
            for update in updates:
                try:
                    fed = await self._feed(update)
                except Exception:  # _feed catches everything; this is the last guard of polling itself
                    log.exception("update %s could not be handled or set aside; fetched again", update.update_id)
                    fed = False
                if not fed:
                    await asyncio.sleep(self.poll_backoff)
                    break
                offset = update.update_id + 1

    async def _feed(self, update: Update) -> bool:
        """Handle one update; False when it failed and should come again. An update that fails
        MAX_UPDATE_FAILURES times is set aside as a file (nothing is lost) so that it no longer holds
        back every other migrant's messages behind it."""
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            failures = self._failures.get(update.update_id, 0) + 1
            if failures < MAX_UPDATE_FAILURES:
                self._failures[update.update_id] = failures
                log.exception("update %s failed (%d); it will be fetched again (or sent again to the webhook)",
                              update.update_id, failures)
                return False
            try:
                path = self._set_aside(update)
            except Exception:  # a full disk, a read-only var/: keep it in memory and try it again later
                log.exception("update %s failed %d times and could not be set aside", update.update_id, failures)
                self._failures[update.update_id] = failures
                return False
            self._failures.pop(update.update_id, None)
            log.exception("update %s failed %d times; set aside in %s so that the others are answered",
                          update.update_id, failures, path)
            return True
        self._failures.pop(update.update_id, None)
        return True

    def _set_aside(self, update: Update) -> Path:
        """The update as ASCII JSON: any text survives (lone surrogates, NUL), as `\\uXXXX` escapes."""
        self.dead_letters.mkdir(parents=True, exist_ok=True)
        path = self.dead_letters / f"telegram-{self.bot.id}-{update.update_id}.json"
        data = update.model_dump(mode="python", exclude_none=True)
        path.write_text(json.dumps(data, ensure_ascii=True, default=str), encoding="ascii")
        return path

    # -- webhook ---------------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.json_response({"error": "missing secret token"}, status=401)
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.json_response({"error": "wrong secret token"}, status=403)
        data = await read_json(request, MAX_UPDATE_BYTES)
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValueError, ValidationError) as exc:
            return web.json_response({"error": f"not a Telegram update: {str(exc)[:200]}"}, status=400)
        # Stored and handled before we answer: a failure is a 500 and Telegram sends it again.
        if not await self._feed(update):
            return web.json_response({"error": "not handled; send it again"}, status=500)
        return web.json_response({})

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/telegram/webhook", self.webhook)

    async def register_webhook(self, public_base_url: str) -> None:
        url = public_base_url.rstrip("/") + "/telegram/webhook"
        await self.bot.set_webhook(url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES)
        log.info("telegram webhook registered at %s", url)

    async def set_commands(self) -> None:
        """The command menu in each language (and Russian for everyone else)."""
        for lang in (None, *LANGS):
            language = lang or DEFAULT_LANG
            commands = [BotCommand(command=name, description=self.texts.gettext(language, text))
                        for name, text in COMMANDS]
            await self.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)

    async def close(self) -> None:
        await self.bot.session.close()
