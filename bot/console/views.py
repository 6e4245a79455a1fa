"""Console pages: server-rendered (Jinja2, autoescaped), no front-end build; live updates over SSE."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp_session
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.console import triage
from bot.console.auth import LoginThrottle, ServerSessions, check_password, csrf_token, same_token
from bot.console.i18n import COOKIE, L_, UI_LANGS, ConsoleTexts, local_time, ui_lang
from bot.console.users import UserError, change_own_password
from bot.core.hygiene import clean_text
from bot.events import EventBus
from bot.storage import Database, Staff, reading, transaction, utcnow
from bot.vocabulary import CHANNELS as CAPABILITIES
from bot.vocabulary import QUEUES, RESOLUTIONS, Status
from handoff.service import HandoffError, HandoffService, NotYours

log = logging.getLogger(__name__)
LANG_NAMES = {"ru": "Русский", "uz": "Oʻzbekcha", "tg": "Тоҷикӣ", "ky": "Кыргызча"}
CHANNELS = tuple(CAPABILITIES)
WINDOW = dt.timedelta(hours=24)  # WhatsApp's customer-service window
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Typed request keys: aiohttp warns about plain strings (NotAppKeyWarning), once per key and process.
STAFF = web.RequestKey("staff", Staff)
CSRF = web.RequestKey("csrf", str)
FLASH = web.RequestKey[str | None]("flash")
UI = web.RequestKey("ui_lang", str)
# the parameters of activity lines and refusals that are stored words, translated too
STORED_WORDS = ("reason", "queue", "priority", "resolution", "status", "current", "target")
# the words the console shows for the stored ones (statuses, queues, resolutions, channels, scripts)
WORDS = {
    "BOT": L_("with the bot"), "WAITING": L_("waiting"), "WITH_MEDIATOR": L_("with a mediator"),
    "RESOLVED": L_("resolved"), "legal": L_("legal"), "medical": L_("medical"), "general": L_("general"),
    "answered": L_("answered"), "referred": L_("referred"), "no_reply": L_("no reply"), "duplicate": L_("duplicate"),
    "spam": L_("spam"), "other": L_("other"), "telegram": "Telegram", "whatsapp": "WhatsApp",
    "web": L_("web chat"), "terminal": L_("terminal"), "Cyrl": L_("Cyrillic"), "Latn": L_("Latin"),
    "normal": L_("normal"), "urgent": L_("urgent"), "migrant": L_("migrant"), "bot": L_("bot"),
    "system": L_("system"), "admin": L_("admin"),
    "editor": L_("editor"), "mediator": L_("mediator"), "coordinator": L_("coordinator"),
}
STOP: dict[str, Any] = {"type": "stop"}  # put in an event stream's queue to end it


class Console:
    def __init__(self, db: Database, handoff: HandoffService, events: EventBus, texts: ConsoleTexts | None = None):
        self.db, self.handoff, self.events = db, handoff, events
        self.texts = texts or ConsoleTexts()
        self.tz = handoff.policy.hours.tz  # times are shown in the office's zone
        self.throttle = LoginThrottle(db)
        self._streams: set[asyncio.Queue[dict[str, Any]]] = set()
        self.env = Environment(loader=PackageLoader("bot.console", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.env.filters["dt"] = lambda v: local_time(v, self.tz)
        self.env.filters["when"] = lambda v: local_time(v, self.tz, "%Y-%m-%d %H:%M")
        self.env.filters["iso"] = lambda v: v.isoformat() if v else ""

    def t(self, request: web.Request, message: str, /, **params: Any) -> str:
        """`message` in the language of the console the request is for."""
        return self.texts.gettext(request.get(UI, "ru"), message, **params)

    def activity(self, request: web.Request, text: str) -> str:
        """An activity line in the console's language (stored in English, for the logs and the export)."""
        found = triage.activity(text)
        if found is None:
            return text
        message, params = found
        return self.t(request, message, **{k: self.t(request, WORDS.get(v, v)) if k in STORED_WORDS else v
                                           for k, v in params.items()})

    def home(self, staff: Staff) -> str:
        """Where someone lands after logging in: their own work."""
        if staff.has("mediator"):
            return "/console/queue"
        if "coordinator" in staff.roles:
            return "/console/reports"
        if "editor" in staff.roles:
            return "/console/flows"
        return "/console/account"

    # -- plumbing --------------------------------------------------------------------------------

    def render(self, name: str, request: web.Request, status: int = 200, **context: Any) -> web.Response:
        lang = request.get(UI, "ru")
        texts = self.texts

        def _(message: str, /, **params: Any) -> str:
            return texts.gettext(lang, message, **params)

        def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
            return texts.ngettext(lang, singular, plural, n, **params)

        def word(value: str | None) -> str:  # a stored word (status, queue ...) as the console says it
            return _(WORDS[value]) if value in WORDS else (value or "—")

        html = self.env.get_template(name).render(me=request.get(STAFF), csrf=request.get(CSRF),
                                                  flash=request.get(FLASH), path=request.path,
                                                  lang_names=LANG_NAMES, _=_, ngettext=ngettext, word=word,
                                                  ui_lang=lang, ui_langs=UI_LANGS, tz_name=str(self.tz),
                                                  **context)
        return web.Response(text=html, content_type="text/html", charset="utf-8", status=status,
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                     "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"})

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Nothing under /console is reachable without logging in; every POST carries the CSRF token."""
        if not request.path.startswith("/console"):
            return await handler(request)
        request[UI] = ui_lang(request.cookies.get(COOKIE))
        session = await aiohttp_session.get_session(request)
        if "csrf" not in session:
            session["csrf"] = csrf_token()
        request[CSRF] = session["csrf"]
        request[FLASH] = session.pop("flash", None)
        if request.method == "POST":
            form = await request.post()
            given = form.get("_csrf") or request.headers.get("X-CSRF-Token")
            if not same_token(str(given) if given else None, session["csrf"]):
                return web.Response(status=403, text=self.t(
                    request, L_("The form has expired. Go back, reload the page and try again.")))
        public = request.path in ("/console/login",) or request.path.startswith("/console/static/")
        if not public:
            staff_id = session.get("staff_id")
            staff = await self.handoff.staff(int(staff_id)) if staff_id else None
            if staff is None:
                session.pop("staff_id", None)
                if request.method == "GET" and not request.path.startswith("/console/events"):
                    raise web.HTTPFound(f"/console/login?next={request.path_qs}")
                return web.Response(status=401, text=self.t(request, L_("Log in first.")))
            request[STAFF] = staff
        return await handler(request)

    def me(self, request: web.Request, role: str = "mediator") -> Staff:
        staff = request[STAFF]
        if not staff.has(role):
            if request.method == "GET" and role == "mediator" and request.path in ("/console/queue",
                                                                                    "/console/mine"):
                raise web.HTTPFound(self.home(staff))  # an editor's or coordinator's start is elsewhere
            raise self.forbidden(request, L_("This page is for the role: %(role)s."),
                                 role=self.t(request, WORDS.get(role, role)))
        return staff

    def forbidden(self, request: web.Request, message: str, **params: Any) -> web.HTTPException:
        """403 as a console page (with the menu, in the console's language)."""
        page = self.render("message.html", request, status=403, message=self.t(request, message, **params))
        return web.HTTPForbidden(text=page.text, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def flash(self, request: web.Request, text: str, **params: Any) -> None:
        """A one-time message on the next page; `text` is a console msgid, translated here."""
        session = await aiohttp_session.get_session(request)
        session["flash"] = self.t(request, text, **params)

    async def set_language(self, request: web.Request) -> web.Response:
        """The language switch: remembered in this browser for a year."""
        form = await request.post()
        target = str(form.get("next") or "/console")
        if not target.startswith("/console") or target.startswith("//"):
            target = "/console"
        response = web.HTTPSeeOther(target)
        response.set_cookie(COOKIE, ui_lang(str(form.get("lang", ""))), max_age=365 * 24 * 3600, path="/console",
                            httponly=True, samesite="Lax")
        raise response

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
        wait = await self.throttle.wait_seconds(*keys)
        if wait:
            return self.render("login.html", request, status=429, next=target, error=self.t(
                request, L_("Too many failed attempts. Try again in %(minutes)d minutes."), minutes=wait // 60 + 1))
        async with reading(self.db) as tx:
            row = await tx.staff.by_login(login)
        if not check_password(row.password_hash if row is not None and row.active else None,
                              password) or row is None:
            await self.throttle.failed(*keys)
            return self.render("login.html", request, status=401, next=target,
                               error=self.t(request, L_("Wrong login or password.")))
        await self.throttle.succeeded(*keys)
        session = await aiohttp_session.new_session(request)  # a fresh session id: no fixation
        session["staff_id"] = row.id
        session["csrf"] = csrf_token()
        async with transaction(self.db) as tx:
            await tx.staff.logged_in(row.id, utcnow())
        if target == "/console/queue":
            target = self.home(row.staff)
        raise web.HTTPSeeOther(target)

    async def logout(self, request: web.Request) -> web.Response:
        session = await aiohttp_session.get_session(request)
        session.invalidate()
        raise web.HTTPSeeOther("/console/login")

    # -- lists -----------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.home(request[STAFF]))

    async def queue(self, request: web.Request) -> web.Response:
        if not request[STAFF].has("mediator") and request[STAFF].has("coordinator"):
            raise web.HTTPFound(self.home(request[STAFF]))  # where a coordinator starts (after logging in too)
        me = self.me(request)
        q = request.query
        items = await self.handoff.queue(me, lang=q.get("lang", ""), skill=q.get("skill", ""),
                                         channel=q.get("channel", ""), urgent=q.get("urgent") == "1")
        return self.render("list.html", request, title=self.t(request, L_("Queue")), items=self.rows(items),
                           filters=True, q=q, queues=QUEUES, channels=CHANNELS, live="queue")

    async def mine(self, request: web.Request) -> web.Response:
        me = self.me(request)
        items = await self.handoff.queue(me, status=Status.WITH_MEDIATOR, assignee=me.id)
        return self.render("list.html", request, title=self.t(request, L_("My conversations")),
                           items=self.rows(items), live="queue")

    async def everything(self, request: web.Request) -> web.Response:
        me = self.reader(request)
        status = request.query.get("status", "")
        if status not in ("", *Status.__members__):
            status = ""
        items = await self.handoff.queue(me, status=status, search=request.query.get("q", "").strip()[:200])
        return self.render("list.html", request, title=self.t(request, L_("All conversations")),
                           items=self.rows(items), search=True, q=request.query, statuses=list(Status.__members__))

    @staticmethod
    def rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A list's rows with what triage shows: the reason, the first words."""
        for item in items:
            item["reason"] = triage.reason(item.get("handoff_text"), item.get("handoff_node"))
            item["preview"] = triage.preview(item.get("last_text"))
            item["citizenship"] = triage.citizenship(item.get("citizenship"))
            item["region"] = triage.region(item.get("region"))
            if item.get("topic") == "handoff_needed":  # says nothing the status does not
                item["topic"] = None
        return items

    # -- one conversation -----------------------------------------------------------------------

    def reader(self, request: web.Request) -> Staff:
        """Mediators, and coordinators (who read every conversation and act on none)."""
        staff = request[STAFF]
        if not (staff.has("mediator") or "coordinator" in staff.roles):
            raise self.forbidden(request, L_("This page is for the role: %(role)s."),
                                 role=self.t(request, L_("mediator")))
        return staff

    async def conversation(self, request: web.Request) -> web.Response:
        me = self.reader(request)
        conv_id = int(request.match_info["id"])
        try:
            data = await self.handoff.conversation(conv_id)
        except HandoffError as exc:
            raise web.HTTPNotFound(text=self.t(request, exc.message, **exc.params)) from exc
        conv = data["conversation"]
        lang = conv.lang or conv.contact_lang or "ru"
        async with reading(self.db) as tx:
            canned = await tx.canned.of_lang(lang)
        window = None
        if conv.channel == "whatsapp":
            last = data["last_inbound_at"]
            window = {"open": bool(last and utcnow() - last < WINDOW), "until": (last + WINDOW) if last else None}
        messages = transcript(data["messages"])
        for m in messages:
            if m.direction == "activity":
                m.shown = self.activity(request, m.text)
        handoff = next((m for m in reversed(messages) if m.direction == "activity"
                        and (m.text or "").startswith(triage.PREFIX) and m.conversation_id == conv.id), None)
        assignee = next((s for s in await self.handoff.colleagues() if s.id == conv.assignee_id), None)
        return self.render("conversation.html", request, conv=conv, messages=messages, lang=lang,
                           profile=conv.vars or {}, canned=canned,
                           citizenship=triage.citizenship((conv.vars or {}).get("citizenship")),
                           region=triage.region((conv.vars or {}).get("region")),
                           colleagues=await self.handoff.colleagues(),
                           queues=QUEUES, resolutions=RESOLUTIONS, window=window, mine=conv.assignee_id == me.id,
                           assignee=assignee, script=conv.script,
                           reason=triage.reason(handoff.text, handoff.node) if handoff else "",
                           last_id=messages[-1].id if messages else 0, live="conversation")

    async def messages(self, request: web.Request) -> web.Response:
        self.reader(request)
        after = request.query.get("after", "0") or "0"
        if not after.isdigit():
            raise web.HTTPBadRequest(text="after must be a message id")
        conv_id = int(request.match_info["id"])
        rows = transcript(await self.handoff.messages_after(conv_id, 0))  # the labels of earlier buttons
        return web.json_response({"messages": [
            {"id": r.id, "direction": r.direction, "sender": r.sender, "media": r.media or [],
             "text": self.activity(request, r.text) if r.direction == "activity" else r.text,
             "pressed": r.pressed, "who": self.t(request, WORDS.get(r.sender, r.sender)),
             "at": local_time(r.created_at, self.tz)} for r in rows if r.id > int(after)]})

    async def act(self, request: web.Request) -> web.Response:
        me = self.me(request)
        conv_id = int(request.match_info["id"])
        action = request.match_info["action"]
        form = await request.post()
        try:
            if action == "take":
                await self.handoff.claim(conv_id, me)
                await self.flash(request, L_("You have taken this conversation."))
            elif action == "takeover":
                if form.get("confirm") != "yes":
                    await self.flash(request, L_("Confirm that you take the conversation over."))
                else:
                    await self.handoff.take_over(conv_id, me)
                    await self.flash(request, L_("You have taken this conversation over; it is logged."))
            elif action == "reply":
                await self.handoff.reply(conv_id, me, str(form.get("text", ""))[:4000])
            elif action == "note":
                await self.handoff.note(conv_id, me, str(form.get("text", ""))[:4000])
            elif action == "transfer":
                colleague = str(form.get("colleague", ""))
                await self.handoff.transfer(conv_id, me, queue=str(form.get("queue", "")),
                                            to_staff=int(colleague) if colleague.isdigit() else None)
                await self.flash(request, L_("Transferred; the migrant was told."))
            elif action == "return":
                await self.handoff.return_to_bot(conv_id, me)
                await self.flash(request, L_("The conversation is back with the bot."))
            elif action == "resolve":
                await self.handoff.resolve(conv_id, me, str(form.get("resolution", "")))
                await self.flash(request, L_("Resolved. The migrant was asked to rate the help."))
            else:
                raise web.HTTPNotFound()
        except NotYours as exc:
            raise self.forbidden(request, exc.message, **exc.params) from exc
        except HandoffError as exc:
            await self.flash(request, L_("Not done: %(why)s."), why=self.t(request, exc.message, **{
                k: self.t(request, WORDS.get(v, v)) if k in STORED_WORDS else v for k, v in exc.params.items()}))
        raise web.HTTPSeeOther(f"/console/c/{conv_id}")

    # -- one's own account ------------------------------------------------------------------------------

    async def account(self, request: web.Request) -> web.Response:
        return self.render("account.html", request, roles=[WORDS.get(r, r) for r in request[STAFF].roles])

    async def account_password(self, request: web.Request) -> web.Response:
        me = request[STAFF]
        form = await request.post()
        current, new = str(form.get("current", "")), str(form.get("new", ""))[:200]
        if new != str(form.get("repeat", "")):
            await self.flash(request, L_("The two new passwords differ."))
        else:
            try:
                await change_own_password(self.db, me.login, current, new)
                # every session of the old password ended (other browsers too); this one goes on, new
                session = await aiohttp_session.new_session(request)
                session["staff_id"] = me.id
                session["csrf"] = csrf_token()
                await self.flash(request, L_("Your password is changed."))
            except UserError as exc:
                await self.flash(request, L_("Not changed: %(why)s."), why=self.t(request, str(exc)))
        raise web.HTTPSeeOther("/console/account")

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
        title = clean_text(str(form.get("title", ""))).strip()[:128]
        text = clean_text(str(form.get("text", ""))).strip()[:4000]
        async with transaction(self.db) as tx:
            if form.get("delete") and reply_id.isdigit():
                await tx.canned.delete(int(reply_id))
            elif lang in LANG_NAMES and title and text:
                await tx.canned.save(int(reply_id) if reply_id.isdigit() else None, lang=lang, title=title, text=text,
                                     staff_id=me.id, now=utcnow())
            else:
                await self.flash(request, L_("A canned reply needs a language, a title and a text."))
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
    aiohttp_session.setup(app, ServerSessions(secret, console.db, cookie_name="hotline_console", httponly=True,
                                              samesite="Lax", max_age=12 * 3600, path="/console"))
    app.middlewares.append(console.guard)
    app.on_shutdown.append(console.stop_streams)
    r = app.router
    r.add_get("/console", console.index)
    r.add_get("/console/", console.index)
    r.add_get("/console/login", console.login_page)
    r.add_post("/console/login", console.login)
    r.add_post("/console/logout", console.logout)
    r.add_post("/console/lang", console.set_language)
    r.add_get("/console/queue", console.queue)
    r.add_get("/console/mine", console.mine)
    r.add_get("/console/all", console.everything)
    r.add_get("/console/c/{id:\\d+}", console.conversation)
    r.add_get("/console/c/{id:\\d+}/messages", console.messages)
    r.add_post("/console/c/{id:\\d+}/{action:[a-z]+}", console.act)
    r.add_get("/console/account", console.account)
    r.add_post("/console/account/password", console.account_password)
    r.add_get("/console/canned", console.canned)
    r.add_post("/console/canned", console.canned_save)
    r.add_get("/console/events", console.stream)
    r.add_static("/console/static", str(_static_dir()))


@dataclass
class Shown:
    """A message as the transcript shows it: a button press as the label the migrant saw."""

    id: int
    conversation_id: int
    direction: str
    sender: str
    text: str
    media: list[Any] | None
    node: str | None
    created_at: dt.datetime
    pressed: str | None  # the label of the pressed button (a rating: its number)
    shown: str = ""  # an activity line in the console's language


def transcript(rows: list[Any]) -> list[Shown]:
    """Messages with each button press resolved to the label of the button offered just before."""
    offered: dict[str, str] = {}
    out: list[Shown] = []
    for r in rows:
        pressed = None
        if r.direction == "out" and r.buttons:
            offered = {b.get("payload", ""): b.get("label", "") for b in r.buttons if isinstance(b, dict)}
        elif r.direction == "in" and r.buttons:
            payload = str((r.buttons[0] or {}).get("payload", "")) if isinstance(r.buttons[0], dict) else ""
            pressed = offered.get(payload) or payload.removeprefix("r:")
        out.append(Shown(r.id, r.conversation_id, r.direction, r.sender, r.text or "", r.media, r.node,
                         r.created_at, pressed))
    return out


def _static_dir() -> Any:
    from importlib import resources

    return resources.files("bot.console").joinpath("static")

