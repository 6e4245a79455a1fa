"""WhatsApp through Twilio: a thin adapter on the shared aiohttp app, using the twilio library.

Inbound: `POST /whatsapp/webhook` (form-encoded), its X-Twilio-Signature checked against the public URL;
stored (inbox, unique by MessageSid) before the empty TwiML answer. Outbound: the outbox, through the
REST API with twilio's async client. Menus become numbered lists; texts over 1,600 characters are split
at paragraph breaks. Outside the 24-hour customer-service window a message that is not a reply is sent
as the approved template first, or held until the migrant writes, never dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, cast

from aiohttp import ClientError, web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.core.model import Inbound, Media
from bot.outbox import Held, Rejected, RetryLater, Transient, Unreachable
from bot.service import ConversationService
from bot.storage import Database, reading, transaction, utcnow
from bot.vocabulary import CHANNELS, mask

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
LIMIT = CHANNELS[CHANNEL].max_chars or 1600  # characters in one WhatsApp message through Twilio
WINDOW = CHANNELS[CHANNEL].reply_window or dt.timedelta(hours=24)
TWILIO_API = "https://api.twilio.com"
OUTSIDE_WINDOW = 63016  # Twilio: "outside the allowed window", freeform message refused
# What a failed request to Twilio can raise besides its own errors: worth retrying with backoff.
NETWORK_ERRORS = (OSError, TimeoutError, ClientError)
PROGRESS = ("sent", "delivered", "read")  # a message's delivery states, in the order they happen
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Country calling codes -> the language to start in; the migrant can change it at once (menu, /lang).
COUNTRY_LANG = (("998", "uz"), ("992", "tg"), ("996", "ky"), ("7", "ru"))


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at paragraph breaks, else line breaks, else spaces."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        # the last paragraph break, else the last line break, else the last space (each only past the
        # first third, so that parts stay long), else the window's end
        cut = next((at for sep in ("\n\n", "\n", " ") if (at := window.rfind(sep)) > limit // 3), limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [p for p in parts if p]


def render(payload: dict[str, Any]) -> str:
    """A reply as WhatsApp shows it: the text, then its options as a numbered list."""
    text = str(payload.get("text") or "")
    buttons = payload.get("buttons") or []
    if buttons:
        text += "\n\n" + "\n".join(f"{i}. {b['label']}" for i, b in enumerate(buttons, start=1))
    return text


def guess_lang(phone: str) -> str | None:
    digits = phone.removeprefix("whatsapp:").lstrip("+")
    return next((lang for prefix, lang in COUNTRY_LANG if digits.startswith(prefix)), None)


class BaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's async HTTP client, pointed at TWILIO_API_BASE_URL (a proxy, or the tests' fake server).

    Two repairs of twilio's own: its timeout is kept but never applied (aiohttp then waits for ever, and
    one hung request would stall the whole outbox), and it authenticates with aiohttp's BasicAuth, which
    is deprecated (gone in aiohttp 4): the Authorization header is set here instead."""

    def __init__(self, base_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, url: str, params: Any = None, data: Any = None,
                      headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109 (twilio's own signature)
                      allow_redirects: bool = False) -> Response:
        if url.startswith(TWILIO_API) and self.base_url != TWILIO_API:
            url = self.base_url + url[len(TWILIO_API):]
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return cast(Response, await super().request(method, url, params=params, data=data, headers=headers,
                                                    timeout=timeout or self.timeout,
                                                    allow_redirects=allow_redirects))


def make_client(account_sid: str, auth_token: str, api_base_url: str) -> Client:
    return Client(account_sid, auth_token, http_client=BaseUrlHttpClient(api_base_url, timeout=30))


class WhatsAppSender:
    """Sends outbox payloads with the REST API, keeping to the 24-hour window."""

    def __init__(self, client: Client, sender: str, db: Database, template_sid: str = "",
                 template_variables: str = "", status_callback: str = "",
                 clock: Callable[[], dt.datetime] = utcnow):
        self.client, self.sender, self.db, self.clock = client, _wa(sender), db, clock
        self.template_sid, self.template_variables = template_sid, template_variables
        self.status_callback = status_callback

    async def send(self, address: str, payload: dict[str, Any]) -> str | None:
        if not payload.get("reply") and not await self._window_open(address):
            await self._outside_window(address)
        parts = split_text(render(payload))
        done = int(payload.get("sent_parts", 0))
        sid: str | None = None
        for index in range(done, len(parts)):
            try:
                sid = await self._create(address, body=parts[index])
            except TwilioRestException as exc:
                if exc.code == OUTSIDE_WINDOW:
                    await self._outside_window(address, refused=True)
                raise _translate(exc, index - done) from exc
            except NETWORK_ERRORS as exc:
                raise Transient(f"{type(exc).__name__}: {exc}", index - done) from exc
        return sid

    async def _create(self, address: str, **fields: Any) -> str:
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        message = await self.client.messages.create_async(from_=self.sender, to=_wa(address), **fields, **extra)
        return str(message.sid)

    async def _window_open(self, address: str) -> bool:
        async with reading(self.db) as tx:
            window = await tx.channels.window(CHANNEL, address)
        last = window.last_inbound_at if window else None
        return bool(last and self.clock() - last < WINDOW)

    async def _outside_window(self, address: str, refused: bool = False) -> None:
        """Send the approved template once since the migrant's last message, then hold the message."""
        async with reading(self.db) as tx:
            row = await tx.channels.window(CHANNEL, address)
        already = row is not None and row.window_notice_at is not None and (
            row.last_inbound_at is None or row.window_notice_at >= row.last_inbound_at)
        if self.template_sid and not already:
            try:
                await self._create(address, content_sid=self.template_sid,
                                   content_variables=self.template_variables or None)
            except TwilioRestException as exc:
                raise _translate(exc, 0) from exc
            except NETWORK_ERRORS as exc:
                raise Transient(f"{type(exc).__name__}: {exc}") from exc
            async with transaction(self.db) as tx:
                await tx.channels.window_notice_sent(CHANNEL, address, self.clock())
            log.info("whatsapp %s: outside the 24-hour window; template sent", mask(address))
        reason = "outside the 24-hour window" + ("" if self.template_sid else "; no template configured")
        raise Held(f"{reason} (Twilio {OUTSIDE_WINDOW})" if refused else reason)


def _translate(exc: TwilioRestException, progress: int) -> Exception:
    if exc.status == 429:
        return RetryLater(float(getattr(exc, "retry_after", None) or 5), progress)
    if exc.status >= 500:
        return Transient(f"Twilio {exc.status}: {exc.msg}", progress)
    if exc.code in (63003, 63024, 21211, 21614):  # not a WhatsApp user / invalid number
        return Unreachable(f"Twilio {exc.code}: {exc.msg}")
    return Rejected(f"Twilio {exc.status} {exc.code}: {exc.msg}")


def _wa(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


class WhatsAppChannel:
    def __init__(self, service: ConversationService, db: Database, auth_token: str, public_base_url: str,
                 wake: Callable[[], None]):
        self.service, self.db, self.wake = service, db, wake
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/whatsapp/webhook", self.webhook)
        app.router.add_post("/whatsapp/status", self.status)

    async def _verified(self, request: web.Request) -> dict[str, str] | web.Response:
        """The form, when Twilio signed it for our public URL; else the 403 to answer."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = self.public_base_url + request.path_qs
        if not signature or not self.validator.validate(url, form, signature):
            log.warning("whatsapp %s: missing or wrong signature; ignored", request.path)
            return web.Response(status=403, text="invalid signature")
        return form

    async def webhook(self, request: web.Request) -> web.Response:
        form = await self._verified(request)
        if isinstance(form, web.Response):
            return form
        sid, sender = form.get("MessageSid", ""), form.get("From", "")
        if not sid or not sender:
            return web.Response(status=400, text="MessageSid and From are required")
        phone = sender.removeprefix("whatsapp:")
        media = [Media(kind=_kind(form.get(f"MediaContentType{i}", "")), ref=form.get(f"MediaUrl{i}", ""),
                       mime=form.get(f"MediaContentType{i}", "")) for i in range(_int(form.get("NumMedia")))]
        if form.get("Latitude") and form.get("Longitude"):
            media.append(Media("location", f"{form['Latitude']},{form['Longitude']}"))
        await self.service.handle(Inbound(channel=CHANNEL, user=phone, text=form.get("Body", ""),
                                          media=tuple(media), external_id=sid, lang_hint=guess_lang(phone)))
        self.wake()
        return web.Response(text=EMPTY_TWIML, content_type="application/xml")

    async def status(self, request: web.Request) -> web.Response:
        """Delivery receipts: sent, delivered, read, failed (with Twilio's error code)."""
        form = await self._verified(request)
        if isinstance(form, web.Response):
            return form
        sid, state, code = form.get("MessageSid", ""), form.get("MessageStatus", ""), form.get("ErrorCode", "")
        if not sid or state not in ("queued", "sending", "sent", "delivered", "read", "failed", "undelivered"):
            return web.Response(status=400, text="MessageSid and a known MessageStatus are required")
        values: dict[str, Any] = {"status": state if state not in ("queued", "sending") else "sent"}
        if code:
            values["error"] = f"Twilio error {code}"
        if code == str(OUTSIDE_WINDOW):  # refused for the window: hold it until the migrant writes again
            values.update(status="held", sent_at=None, error=f"outside the 24-hour window (Twilio {code})")
        later: tuple[str, ...] = ()
        if values["status"] in PROGRESS:  # callbacks may arrive out of order: a late one never moves a row back
            later = (*PROGRESS[PROGRESS.index(values["status"]) + 1:], "failed", "undelivered", "held")
        async with transaction(self.db) as tx:
            await tx.outbox.receipt(CHANNEL, sid, values, unless=later)
        if code == str(OUTSIDE_WINDOW):
            log.info("whatsapp message %s refused outside the window; held", sid)
        return web.Response(text="")


def _kind(mime: str) -> str:
    if mime.startswith("image/"):
        return "photo"
    if mime.startswith("audio/"):
        return "voice"
    if mime.startswith("video/"):
        return "video"
    return "document"


def _int(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 10))
    except ValueError:
        return 0


