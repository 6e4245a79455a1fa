"""Console pages: server-rendered (Jinja2, autoescaped), no front-end build; live updates over SSE."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.console.auth import LoginThrottle, csrf_token, same_token, verify_password
from bot.events import EventBus
from bot.storage import Database, Staff, reading, transaction, utcnow
from bot.vocabulary import CHANNELS as CAPABILITIES
from bot.vocabulary import QUEUES, RESOLUTIONS, Status
from handoff.service import HandoffError, HandoffService

log = logging.getLogger(__name__)
LANG_NAMES = {"ru": "Русский", "uz": "Oʻzbekcha", "tg": "Тоҷикӣ", "ky": "Кыргызча"}
CHANNELS = tuple(CAPABILITIES)
WINDOW = dt.timedelta(hours=24)  # WhatsApp's customer-service window
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Typed request keys: aiohttp warns about plain strings (NotAppKeyWarning), once per key and process.
STAFF = web.RequestKey("staff", Staff)
CSRF = web.RequestKey("csrf", str)
FLASH = web.RequestKey[str | None]("flash")
STOP: dict[str, Any] = {"type": "stop"}  # put in an event stream's queue to end it


class Console:
    def __init__(self, db: Database, handoff: HandoffService, events: EventBus):
        self.db, self.handoff, self.events = db, handoff, events
        self.throttle = LoginThrottle()
        self._streams: set[asyncio.Queue[dict[str, Any]]] = set()
        self.env = Environment(loader=PackageLoader("bot.console", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.env.filters["dt"] = lambda v: v.strftime("%d.%m %H:%M") if v else ""

    # -- plumbing --------------------------------------------------------------------------------

    def render(self, name: str, request: web.Request, status: int = 200, **context: Any) -> web.Response:
        html = self.env.get_template(name).render(me=request.get(STAFF), csrf=request.get(CSRF),
                                                  flash=request.get(FLASH), path=request.path,
                                                  lang_names=LANG_NAMES, **context)
        return web.Response(text=html, content_type="text/html", charset="utf-8", status=status,
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                     "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"})

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Nothing under /console is reachable without logging in; every POST carries the CSRF token."""
        if not request.path.startswith("/console"):
            return await handler(request)
        session = await aiohttp_session.get_session(request)
        if "csrf" not in session:
            session["csrf"] = csrf_token()
        request[CSRF] = session["csrf"]
        request[FLASH] = session.pop("flash", None)
        if request.method == "POST":
            form = await request.post()
            given = form.get("_csrf") or request.headers.get("X-CSRF-Token")
            if not same_token(str(given) if given else None, session["csrf"]):
                return web.Response(status=403, text="The form has expired. Go back, reload the page and try again.")
        public = request.path in ("/console/login",) or request.path.startswith("/console/static/")
        if not public:
            staff_id = session.get("staff_id")
            staff = await self.handoff.staff(int(staff_id)) if staff_id else None
            if staff is None:
                session.pop("staff_id", None)
                if request.method == "GET" and not request.path.startswith("/console/events"):
                    raise web.HTTPFound(f"/console/login?next={request.path_qs}")
                return web.Response(status=401, text="Log in first.")
            request[STAFF] = staff
        return await handler(request)

    def me(self, request: web.Request, role: str = "mediator") -> Staff:
        staff = request[STAFF]
        if not staff.has(role):
            raise web.HTTPForbidden(text=f"This page is for the {role} role.")
        return staff

    async def flash(self, request: web.Request, text: str) -> None:
        session = await aiohttp_session.get_session(request)
        session["flash"] = text

    # -- log in / out ----------------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        return self.render("login.html", request, next=request.query.get("next", "/console/queue"))

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        login, password = str(form.get("login", "")).strip().lower(), str(form.get("password", ""))
        target = str(form.get("next") or "/console/queue")
        if not target.startswith("/console") or target.startswith("//"):
            target = "/console/queue"
        keys = (f"login:{login}", f"ip:{request.remote}")
        wait = self.throttle.wait_seconds(*keys)
        if wait:
            return self.render("login.html", request, status=429, next=target,
                               error=f"Too many failed attempts. Try again in {wait // 60 + 1} minutes.")
        async with reading(self.db) as tx:
            row = await tx.staff.by_login(login)
        if row is None or not row.active or not verify_password(row.password_hash, password):
            self.throttle.failed(*keys)
            return self.render("login.html", request, status=401, next=target, error="Wrong login or password.")
        self.throttle.succeeded(*keys)
        session = await aiohttp_session.new_session(request)  # a fresh session id: no fixation
        session["staff_id"] = row.id
        session["csrf"] = csrf_token()
        async with transaction(self.db) as tx:
            await tx.staff.logged_in(row.id, utcnow())
        raise web.HTTPSeeOther(target)

    async def logout(self, request: web.Request) -> web.Response:
        session = await aiohttp_session.get_session(request)
        session.invalidate()
        raise web.HTTPSeeOther("/console/login")

    # -- lists -----------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/console/queue")

    async def queue(self, request: web.Request) -> web.Response:
        if not request[STAFF].has("mediator") and request[STAFF].has("coordinator"):
            raise web.HTTPFound("/console/reports")  # where a coordinator starts (after logging in too)
        me = self.me(request)
        q = request.query
        items = await self.handoff.queue(me, lang=q.get("lang", ""), skill=q.get("skill", ""),
                                         channel=q.get("channel", ""), urgent=q.get("urgent") == "1")
        return self.render("list.html", request, title="Queue", items=items, filters=True, q=q,
                           queues=QUEUES, channels=CHANNELS, live="queue")

    async def mine(self, request: web.Request) -> web.Response:
        me = self.me(request)
        items = await self.handoff.queue(me, status=Status.WITH_MEDIATOR, assignee=me.id)
        return self.render("list.html", request, title="My conversations", items=items, live="queue")

    async def everything(self, request: web.Request) -> web.Response:
        me = self.me(request)
        status = request.query.get("status", "")
        if status not in ("", *Status.__members__):
            status = ""
        items = await self.handoff.queue(me, status=status, search=request.query.get("q", "").strip()[:200])
        return self.render("list.html", request, title="All conversations", items=items, search=True,
                           q=request.query, statuses=list(Status.__members__))

    # -- one conversation -----------------------------------------------------------------------

    async def conversation(self, request: web.Request) -> web.Response:
        me = self.me(request)
        conv_id = int(request.match_info["id"])
        try:
            data = await self.handoff.conversation(conv_id)
        except HandoffError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        conv = data["conversation"]
        lang = conv.lang or conv.contact_lang or "ru"
        async with reading(self.db) as tx:
            canned = await tx.canned.of_lang(lang)
        window = None
        if conv.channel == "whatsapp":
            last = data["last_inbound_at"]
            window = {"open": bool(last and utcnow() - last < WINDOW), "until": (last + WINDOW) if last else None}
        return self.render("conversation.html", request, conv=conv, messages=data["messages"], lang=lang,
                           profile=conv.vars or {}, canned=canned, colleagues=await self.handoff.colleagues(),
                           queues=QUEUES, resolutions=RESOLUTIONS, window=window, mine=conv.assignee_id == me.id,
                           last_id=data["messages"][-1].id if data["messages"] else 0, live="conversation")

    async def messages(self, request: web.Request) -> web.Response:
        self.me(request)
        after = request.query.get("after", "0") or "0"
        if not after.isdigit():
            raise web.HTTPBadRequest(text="after must be a message id")
        rows = await self.handoff.messages_after(int(request.match_info["id"]), int(after))
        return web.json_response({"messages": [
            {"id": r.id, "direction": r.direction, "sender": r.sender, "text": r.text, "media": r.media or [],
             "at": r.created_at.strftime("%d.%m %H:%M")} for r in rows]})

    async def act(self, request: web.Request) -> web.Response:
        me = self.me(request)
        conv_id = int(request.match_info["id"])
        action = request.match_info["action"]
        form = await request.post()
        try:
            if action == "take":
                await self.handoff.claim(conv_id, me)
                await self.flash(request, "You have taken this conversation.")
            elif action == "reply":
                await self.handoff.reply(conv_id, me, str(form.get("text", ""))[:4000])
            elif action == "note":
                await self.handoff.note(conv_id, me, str(form.get("text", ""))[:4000])
            elif action == "transfer":
                colleague = str(form.get("colleague", ""))
                await self.handoff.transfer(conv_id, me, queue=str(form.get("queue", "")),
                                            to_staff=int(colleague) if colleague.isdigit() else None)
                await self.flash(request, "Transferred.")
            elif action == "return":
                await self.handoff.return_to_bot(conv_id, me)
                await self.flash(request, "The conversation is back with the bot.")
            elif action == "resolve":
                await self.handoff.resolve(conv_id, me, str(form.get("resolution", "")))
                await self.flash(request, "Resolved. The migrant was asked to rate the help.")
            else:
                raise web.HTTPNotFound()
        except HandoffError as exc:
            await self.flash(request, f"Not done: {exc}.")
        raise web.HTTPSeeOther(f"/console/c/{conv_id}")

    # -- canned replies (editors) --------------------------------------------------------------------

    async def canned(self, request: web.Request) -> web.Response:
        self.me(request, "editor")
        async with reading(self.db) as tx:
            rows = await tx.canned.all()
        return self.render("canned.html", request, rows=rows, langs=list(LANG_NAMES))

    async def canned_save(self, request: web.Request) -> web.Response:
        me = self.me(request, "editor")
        form = await request.post()
        reply_id, lang = str(form.get("id", "")), str(form.get("lang", ""))
        title, text = str(form.get("title", "")).strip()[:128], str(form.get("text", "")).strip()[:4000]
        async with transaction(self.db) as tx:
            if form.get("delete") and reply_id.isdigit():
                await tx.canned.delete(int(reply_id))
            elif lang in LANG_NAMES and title and text:
                await tx.canned.save(int(reply_id) if reply_id.isdigit() else None, lang=lang, title=title, text=text,
                                     staff_id=me.id, now=utcnow())
            else:
                await self.flash(request, "A canned reply needs a language, a title and a text.")
        raise web.HTTPSeeOther("/console/canned")

    # -- live updates ------------------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        me = self.me(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
        async with self.events.subscribe() as queue:  # before the headers: no event falls in between
            self._streams.add(queue)
            try:
                await response.prepare(request)
                await response.write(b": connected\n\n")
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), 15)
                    except TimeoutError:
                        event = None
                    if event is STOP:
                        break
                    if event and event.get("type") == "sla" and event.get("lang") not in me.languages \
                        and not me.has("admin") and not event.get("unmatched"):
                        continue
                    data = f"data: {json.dumps(event)}\n\n" if event else ": keep-alive\n\n"
                    try:
                        await response.write(data.encode())
                    except (ConnectionResetError, RuntimeError):
                        break
            finally:
                self._streams.discard(queue)
        return response

    async def stop_streams(self, _app: web.Application) -> None:
        """When the server stops: end the open event streams (they never end by themselves, and the server
        would wait a minute for each before it exits)."""
        for queue in list(self._streams):
            queue.put_nowait(STOP)


def setup(app: web.Application, console: Console, secret: bytes) -> None:
    aiohttp_session.setup(app, EncryptedCookieStorage(secret, cookie_name="hotline_console", httponly=True,
                                                      samesite="Lax", max_age=12 * 3600, path="/console"))
    app.middlewares.append(console.guard)
    app.on_shutdown.append(console.stop_streams)
    r = app.router
    r.add_get("/console", console.index)
    r.add_get("/console/", console.index)
    r.add_get("/console/login", console.login_page)
    r.add_post("/console/login", console.login)
    r.add_post("/console/logout", console.logout)
    r.add_get("/console/queue", console.queue)
    r.add_get("/console/mine", console.mine)
    r.add_get("/console/all", console.everything)
    r.add_get("/console/c/{id:\\d+}", console.conversation)
    r.add_get("/console/c/{id:\\d+}/messages", console.messages)
    r.add_post("/console/c/{id:\\d+}/{action:[a-z]+}", console.act)
    r.add_get("/console/canned", console.canned)
    r.add_post("/console/canned", console.canned_save)
    r.add_get("/console/events", console.stream)
    r.add_static("/console/static", str(_static_dir()))


def _static_dir() -> Any:
    from importlib import resources

    return resources.files("bot.console").joinpath("static")

