"""The web chat: a page at `/` and a small JSON API, talking through the conversation service."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from aiohttp import web

from bot.core.model import LANG_CHOICES, Inbound
from bot.service import ConversationService

CHANNEL = "web"
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SERVICE_KEY = web.AppKey("webchat_service", ConversationService)
LIMIT_KEY = web.AppKey("webchat_max_chars", int)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def page(request: web.Request) -> web.Response:
    html = resources.files("bot.channels").joinpath("static/webchat.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


async def send(request: web.Request) -> web.Response:
    try:
        data: Any = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "the body must be JSON: {session, text} or {session, payload}")
    if not isinstance(data, dict):
        return _error(400, "the body must be a JSON object")
    session = data.get("session")
    text, payload, lang = data.get("text", ""), data.get("payload"), data.get("lang")
    if not isinstance(session, str) or not SESSION_RE.match(session):
        return _error(400, "session must be 8-64 letters, digits, - or _")
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        return _error(400, "text and payload must be strings")
    if len(text) > request.app[LIMIT_KEY]:
        return _error(413, f"the message is longer than {request.app[LIMIT_KEY]} characters; "
                           "please send it in parts")
    if payload is not None and len(payload) > 200:
        return _error(400, "payload too long")
    if lang not in (None, *LANG_CHOICES):
        return _error(400, f"lang must be one of {', '.join(LANG_CHOICES)}")
    result = await request.app[SERVICE_KEY].handle(Inbound(
        channel=CHANNEL, user=session, text=text, payload=payload, lang_hint=lang))
    return web.json_response({
        "status": result.status,
        "replies": [{"text": r.text, "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                     "node": r.node} for r in result.replies],
    })


async def messages(request: web.Request) -> web.Response:
    session = request.query.get("session", "")
    after = request.query.get("after", "0")
    if not SESSION_RE.match(session) or not after.isdigit():
        return _error(400, "session and a numeric after are required")
    rows = await request.app[SERVICE_KEY].messages(CHANNEL, session, int(after))
    return web.json_response({"messages": rows})


def setup(app: web.Application, service: ConversationService, max_chars: int) -> None:
    app[SERVICE_KEY] = service
    app[LIMIT_KEY] = max_chars
    app.router.add_get("/", page)
    app.router.add_post("/chat/api/send", send)
    app.router.add_get("/chat/api/messages", messages)
