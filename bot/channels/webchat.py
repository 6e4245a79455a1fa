"""The web chat: a page at `/` and a small JSON API, talking through the conversation service.

The session id (the web chat's "user" in the database) is issued by the server (`POST /chat/api/session`):
18 random bytes and an HMAC of them, so any worker recognises it and a client cannot choose one. Messages
are limited per session and per client address, new sessions per address (settings WEBCHAT_*_RATE; a
clear 429 with Retry-After beyond them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from bot.channels.jsonbody import read_json
from bot.channels.ratelimit import RateLimit
from bot.core.model import LANG_CHOICES, Inbound
from bot.service import ConversationService

CHANNEL = "web"
SESSION_RE = re.compile(r"[A-Za-z0-9_-]{46}")
STATIC = ("webchat.css", "webchat.js")


@dataclass
class WebChat:
    service: ConversationService
    max_chars: int
    key: bytes  # signs session ids
    per_session: RateLimit
    per_address: RateLimit
    new_sessions: RateLimit

    def new_session(self) -> str:
        nonce = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode()  # 24 characters
        return nonce + self._sign(nonce)

    def _sign(self, nonce: str) -> str:
        return base64.urlsafe_b64encode(hmac.digest(self.key, nonce.encode(), hashlib.sha256)).decode()[:22]

    def issued(self, session: Any) -> bool:
        return (isinstance(session, str) and SESSION_RE.fullmatch(session) is not None
                and hmac.compare_digest(session[24:], self._sign(session[:24])))


KEY = web.AppKey("webchat", WebChat)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _too_many(wait: float) -> web.Response:
    return web.json_response({"error": "too many messages; please wait a minute"}, status=429,
                             headers={"Retry-After": str(max(1, math.ceil(wait)))})


def _not_issued() -> web.Response:
    return _error(403, "unknown session; ask for a new one at /chat/api/session", renew=True)


async def page(request: web.Request) -> web.Response:
    html = resources.files("bot.channels").joinpath("static/webchat.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = resources.files("bot.channels").joinpath(f"static/{name}").read_text(encoding="utf-8")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return web.Response(text=body, content_type=kind, charset="utf-8", headers={"Cache-Control": "no-cache"})


async def session(request: web.Request) -> web.Response:
    chat = request.app[KEY]
    wait = chat.new_sessions.hit(f"ip:{request.remote}")
    if wait:
        return _too_many(wait)
    return web.json_response({"session": chat.new_session()})


async def send(request: web.Request) -> web.Response:
    chat = request.app[KEY]
    # Room for the longest text written as \uXXXX escapes (12 bytes for a character outside the BMP).
    data: Any = await read_json(request, max_bytes=12 * chat.max_chars + 4096)
    if not isinstance(data, dict):
        return _error(400, "the body must be a JSON object: {session, text} or {session, payload}")
    session_id = data.get("session")
    text, payload, lang = data.get("text", ""), data.get("payload"), data.get("lang")
    if not isinstance(session_id, str) or not chat.issued(session_id):
        return _not_issued()
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        return _error(400, "text and payload must be strings")
    if len(text) > chat.max_chars:
        return _error(413, f"the message is longer than {chat.max_chars} characters; please send it in parts")
    if payload is not None and len(payload) > 200:
        return _error(400, "payload too long")
    if lang not in (None, *LANG_CHOICES):
        return _error(400, f"lang must be one of {', '.join(LANG_CHOICES)}")
    wait = max(chat.per_address.hit(f"ip:{request.remote}"), chat.per_session.hit(session_id))
    if wait:
        return _too_many(wait)
    result = await chat.service.handle(Inbound(channel=CHANNEL, user=session_id, text=text, payload=payload,
                                               lang_hint=lang))
    return web.json_response({
        "status": result.status,
        "replies": [{"text": r.text, "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                     "node": r.node} for r in result.replies],
    })


async def messages(request: web.Request) -> web.Response:
    chat = request.app[KEY]
    session_id = request.query.get("session", "")
    after = request.query.get("after", "0")
    if not after.isdigit() or len(after) > 18:
        return _error(400, "after must be a message id")
    if not chat.issued(session_id):
        return _not_issued()
    rows = await chat.service.messages(CHANNEL, session_id, int(after))
    return web.json_response({"messages": rows})


def setup(app: web.Application, service: ConversationService, max_chars: int, key: bytes, *,
          session_rate: int = 30, address_rate: int = 300, new_sessions_rate: int = 30) -> WebChat:
    chat = WebChat(service, max_chars, hmac.digest(key, b"web chat sessions", hashlib.sha256),
                   RateLimit(session_rate), RateLimit(address_rate), RateLimit(new_sessions_rate))
    app[KEY] = chat
    app.router.add_get("/", page)
    app.router.add_get("/chat/static/{name}", static)
    app.router.add_post("/chat/api/session", session)
    app.router.add_post("/chat/api/send", send)
    app.router.add_get("/chat/api/messages", messages)
    return chat
