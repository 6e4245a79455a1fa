"""A small fake Twilio REST server for the tests: aiohttp on 127.0.0.1.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` like Twilio, records every request (the form,
the path and the Authorization header), can be told to fail the next ones (429, 500, or a Twilio error
code such as 63016), optionally after letting some through, and to answer slowly.

`whatsapp_stack` wires the real adapter around it for the tests: the real twilio client (through
`make_client`, so TWILIO_API_BASE_URL is what points it here), the WhatsAppChannel's routes on the
hotline's aiohttp app served on 127.0.0.1, a WhatsAppSender and an OutboxWorker. Webhooks are signed
with `sign`, the twilio library's own algorithm, for PUBLIC_BASE_URL + path, as Twilio signs them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.app import build_app
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSender, make_client
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.outbox import Limits, OutboxWorker
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from bot.storage.models import Outbox

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-for-tests"
FROM = "whatsapp:+14155238886"
PUBLIC_BASE_URL = "https://hotline.example.test"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@dataclass
class Failure:
    status: int
    code: int | None
    message: str
    after: int = 0  # creates to let through before this one fails


@dataclass
class FakeTwilio:
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    delay: float = 0.0  # seconds before each answer
    in_flight: int = 0
    most_in_flight: int = 0  # the most requests answered at the same time
    url: str = ""
    _runner: web.AppRunner | None = None
    _sent: asyncio.Condition = field(default_factory=asyncio.Condition)

    def fail(self, status: int, code: int | None = None, message: str = "failure", times: int = 1,
             after: int = 0) -> None:
        """The next `times` creates (after letting `after` through) answer `status` with Twilio's `code`;
        status 0 drops the connection instead."""
        self.failures.extend(Failure(status, code, message, after if i == 0 else 0) for i in range(times))

    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """The messages Twilio accepted (to one number, when given), oldest first."""
        return [r for r in self.requests if r.get("_sid") and (to is None or r["To"] == f"whatsapp:{to}")]

    def bodies(self, to: str | None = None) -> list[str]:
        return [r.get("Body", "") for r in self.sent(to)]

    async def wait_sent(self, count: int, to: str | None = None, within: float = 10) -> list[dict[str, Any]]:
        async with asyncio.timeout(within), self._sent:
            await self._sent.wait_for(lambda: len(self.sent(to)) >= count)
        return self.sent(to)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _failure(self) -> Failure | None:
        if not self.failures:
            return None
        first = self.failures[0]
        if first.after > 0:
            first.after -= 1
            return None
        return self.failures.pop(0)

    async def create(self, request: web.Request) -> web.Response:
        form: dict[str, Any] = {k: str(v) for k, v in (await request.post()).items()}
        form["_path"] = request.path
        form["_authorization"] = request.headers.get("Authorization", "")
        self.requests.append(form)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if request.match_info["sid"] != ACCOUNT_SID:
            return web.json_response({"code": 20404, "message": "not found", "status": 404}, status=404)
        failure = self._failure()
        if failure is not None and failure.status == 0:  # the connection drops without an answer
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if failure is not None:
            return web.json_response({"code": failure.code, "message": failure.message, "status": failure.status,
                                      "more_info": "https://www.twilio.com/docs/errors"}, status=failure.status)
        sid = f"SM{next(self.sids):032d}"
        form["_sid"] = sid
        async with self._sent:
            self._sent.notify_all()
        return web.json_response({"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                                  "body": form.get("Body"), "account_sid": ACCOUNT_SID, "num_segments": "1"},
                                 status=201)


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it (the twilio library's own algorithm)."""
    return str(RequestValidator(token).compute_signature(url, params))


# -- the adapter wired around the fake --------------------------------------------------------------


class RunningClock:
    """`base()` plus the real time elapsed since it was made: the test's clock, moving on."""

    def __init__(self, base: Callable[[], dt.datetime]):
        self.base, self.t0 = base, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.base() + dt.timedelta(seconds=time.monotonic() - self.t0)


def fast_limits() -> Limits:
    return Limits(per_chat_rate=1000, per_chat_burst=1000, global_rate=10000)


AUTO = object()  # sign the request properly


@dataclass
class Stack:
    fake: FakeTwilio
    client: Client
    sender: WhatsAppSender
    channel: WhatsAppChannel
    worker: OutboxWorker
    service: ConversationService
    http: aiohttp.ClientSession
    base: str  # the hotline's aiohttp app on 127.0.0.1 (what a reverse proxy would forward to)
    message_sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def inbound(self, phone: str, body: str = "", **extra: str) -> dict[str, str]:
        """The form Twilio posts for a WhatsApp message from `phone` (+998...), with a new MessageSid."""
        sid = f"SM{'f' * 8}{next(self.message_sids):024d}"
        form = {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Migrant", "MessageType": "text",
                "SmsSid": sid, "WaId": phone.lstrip("+"), "SmsStatus": "received", "Body": body, "To": FROM,
                "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": ACCOUNT_SID,
                "From": f"whatsapp:{phone}", "ApiVersion": "2010-04-01"}
        form.update(extra)
        return form

    async def post(self, path: str, form: dict[str, str], signature: Any = AUTO,
                   signed_url: str | None = None) -> tuple[int, str]:
        """POST a form to the hotline; signed for PUBLIC_BASE_URL + path unless told otherwise
        (signature=None: no header at all)."""
        headers = {}
        if signature is AUTO:
            signature = sign(signed_url or PUBLIC_BASE_URL + path, form)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with self.http.post(self.base + path, data=form, headers=headers) as res:
            return res.status, await res.text()

    async def status(self, sid: str, state: str, error_code: str = "", to: str = "") -> tuple[int, str]:
        """A status callback as Twilio posts it to /whatsapp/status."""
        form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": state, "SmsStatus": state,
                "AccountSid": ACCOUNT_SID, "From": FROM, "To": f"whatsapp:{to}" if to else "",
                "ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01"}
        if error_code:
            form["ErrorCode"] = error_code
        return await self.post("/whatsapp/status", form)

    async def unsent(self) -> int:
        async with self.service.db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Outbox).where(
                Outbox.sent_at.is_(None), Outbox.status.in_(("pending", "sending"))))).scalar_one())

    async def settle(self, within: float = 5) -> None:
        """Until the outbox has nothing left to send (held rows wait for the migrant)."""
        async with asyncio.timeout(within):
            while True:
                if not await self.unsent():
                    return
                await asyncio.sleep(0.01)

    async def exchange(self, phone: str, body: str = "", **extra: str) -> list[str]:
        """The migrant writes; the texts the hotline sent them in answer, once everything has settled."""
        before = len(self.fake.sent(phone))
        status, answer = await self.post("/whatsapp/webhook", self.inbound(phone, body, **extra))
        assert status == 200, answer
        await self.settle()
        return self.fake.bodies(phone)[before:]


async def work(worker: OutboxWorker, stop: asyncio.Event, idle: float = 0.02) -> None:
    """OutboxWorker.run's loop, stopping between rounds: cancelling the worker in the middle of a query
    lets aiosqlite's thread answer a closed event loop after the test (an unraisable error in the next one)."""
    while not stop.is_set():
        if not await worker.run_once():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)


@contextlib.asynccontextmanager
async def whatsapp_stack(service: ConversationService, flows: FlowSet, texts: Catalogs, *,
                         limits: Limits | None = None, clock: Callable[[], dt.datetime] | None = None,
                         run_worker: bool = True, template_sid: str = "", template_variables: str = "",
                         fake: FakeTwilio | None = None) -> AsyncIterator[Stack]:
    """The fake Twilio server, the real twilio client talking to it, the WhatsApp routes on the hotline's
    app and an OutboxWorker whose sender keeps to the 24-hour window on `clock` (by default the service's
    clock moving on with real time)."""
    fake = fake or FakeTwilio()
    await fake.start()
    clock = clock or RunningClock(service.clock)
    client = make_client(ACCOUNT_SID, AUTH_TOKEN, fake.url)
    sender = WhatsAppSender(client, FROM, service.db, template_sid, template_variables,
                            status_callback=PUBLIC_BASE_URL + "/whatsapp/status", clock=clock)
    worker = OutboxWorker(service.db, {"whatsapp": sender}, limits or fast_limits(), clock=clock)
    channel = WhatsAppChannel(service, service.db, AUTH_TOKEN, PUBLIC_BASE_URL, worker.wake)
    runtime = Runtime(settings=Settings(), db=service.db, flows=flows, service=service, texts=texts)
    app = build_app(runtime)
    channel.setup_routes(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    stop = asyncio.Event()
    task = asyncio.create_task(work(worker, stop), name="outbox") if run_worker else None
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(fake, client, sender, channel, worker, service, http, str(server.make_url("")).rstrip("/"))
    finally:
        if task is not None:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5)
        await client.http_client.close()
        await server.close()
        await fake.stop()
