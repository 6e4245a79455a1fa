"""What every HTTP answer of the hotline gets, and what every request is checked for, in one place:

- security headers on every response (pages, APIs, errors, static files): a Content-Security-Policy that
  allows only the hotline's own scripts and styles and no framing, nosniff, a Referrer-Policy, and HSTS
  when the public address is https (a handler's own CSP, such as the console's, is kept); cookies are
  `Secure` when the public address is https;
- the real client address behind trusted reverse proxies (TRUSTED_PROXIES): `request.remote` becomes the
  address the proxy saw, so that throttles and limits count people, not the proxy;
- forms that are not UTF-8 text are a 400;
- integer parameters (path, query, the id fields of forms) within a 64-bit integer: a 30-digit id is a
  clear 400, not a database overflow and a 500.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
MAX_ID_DIGITS = 18  # every id fits a signed 64-bit integer (PostgreSQL bigint, SQLite integer)
ID_FIELDS = frozenset({"id", "ids", "after", "colleague", "staff_id", "number", "against"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def headers(https: bool) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    async def add(request: web.Request, response: web.StreamResponse) -> None:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        if https:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
            cookies = h.getall("Set-Cookie", [])  # the console's session cookie: never over plain http
            if cookies:
                del h["Set-Cookie"]
                for cookie in cookies:
                    secure = "secure" in (a.strip().lower() for a in cookie.split(";")[1:])
                    h.add("Set-Cookie", cookie if secure else f"{cookie}; Secure")
    return add


def trusted_networks(raw: str) -> tuple[Network, ...]:
    """TRUSTED_PROXIES: IPs or networks, comma-separated; a ValueError names a wrong one."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(remote: str | None, forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """The first address from the right of X-Forwarded-For that is not a trusted proxy, when the request
    came from one; else the peer's own address (a client can't claim an address by sending the header)."""
    if not networks or not _trusted(remote, networks):
        return remote
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a garbled header: the proxy itself, not a made-up address
    return remote


def _digits_too_long(value: str) -> bool:
    return any(len(part.strip()) > MAX_ID_DIGITS and part.strip().isdigit() for part in value.split(","))


async def bad_integer(request: web.Request) -> str | None:
    for name, value in request.match_info.items():
        if value.isdigit() and len(value) > MAX_ID_DIGITS:
            return name
    for name, value in request.query.items():
        if value.isdigit() and len(value) > MAX_ID_DIGITS:
            return name
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        try:
            form = await request.post()  # kept by aiohttp: the handler reads the same form
        except (UnicodeDecodeError, LookupError) as exc:  # not UTF-8, or an unknown charset
            raise web.HTTPBadRequest(text="the form is not UTF-8 text") from exc
        for name in ID_FIELDS & set(form.keys()):
            if any(isinstance(v, str) and _digits_too_long(v) for v in form.getall(name)):
                return name
    return None


def guard(trusted_proxies: str) -> Middleware:
    networks = trusted_networks(trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks:
            real = client_address(request.remote, request.headers.get("X-Forwarded-For", ""), networks)
            if real is not None and real != request.remote:
                request = request.clone(remote=real)
        name = await bad_integer(request)
        if name is not None:
            return web.json_response({"error": f"{name} must be a number of at most {MAX_ID_DIGITS} digits"},
                                     status=400)
        return await handler(request)

    return middleware


def setup(app: web.Application, *, public_base_url: str, trusted_proxies: str) -> None:
    app.middlewares.insert(0, guard(trusted_proxies))
    app.on_response_prepare.append(headers(public_base_url.lower().startswith("https://")))
