"""Console log-in: argon2 password hashes, sessions kept on the server (revoked at logout), CSRF tokens,
login throttling in the database, constant time for unknown names."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp_session import Session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot import vocabulary
from bot.storage import Database, reading, transaction, utcnow

HASHER = PasswordHasher()
ROLES = vocabulary.ROLES


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def session_key(configured: str | None, key_file: Path) -> bytes:
    """32 bytes for the session cookie's encryption: from the setting, else a key kept in var/."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    if key_file.exists():
        return base64.urlsafe_b64decode(key_file.read_bytes())
    key = secrets.token_bytes(32)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(base64.urlsafe_b64encode(key))
    key_file.chmod(0o600)
    return key


def csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(str(a), str(b))


class LoginThrottle:
    """At most `attempts` failed log-ins per login and per client address in `window` seconds, counted in
    the database (every worker sees the same failures; old rows are pruned, so memory does not grow with
    every name tried). Keys are hashed: a password typed into the login field is not stored."""

    def __init__(self, db: Database, attempts: int = 5, window: float = 900,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db, self.attempts, self.window, self.clock = db, attempts, dt.timedelta(seconds=window), clock

    @staticmethod
    def _hashed(keys: tuple[str, ...]) -> list[str]:
        return [hashlib.sha256(key.encode()).hexdigest() for key in keys]

    async def wait_seconds(self, *keys: str) -> int:
        """0 when a log-in may be tried, else the seconds until it may."""
        now = self.clock()
        async with reading(self.db) as tx:
            recent = await tx.login_failures.recent(self._hashed(keys), now - self.window)
        worst = max(((oldest + self.window - now).total_seconds() for count, oldest in recent.values()
                     if count >= self.attempts), default=0.0)
        return int(worst) + (1 if worst > 0 else 0)

    async def failed(self, *keys: str) -> None:
        now = self.clock()
        async with transaction(self.db) as tx:
            await tx.login_failures.add(self._hashed(keys), now, prune_before=now - self.window)

    async def succeeded(self, *keys: str) -> None:
        async with transaction(self.db) as tx:
            await tx.login_failures.clear(self._hashed(keys[:1]))  # the account's; the address's stay counted


_DUMMY: list[str] = []


def check_password(stored: str | None, password: str) -> bool:
    """verify_password, taking as long when there is no such account (or it is disabled: pass None), so
    that the time of an answer does not tell which names exist."""
    if stored is None:
        if not _DUMMY:
            _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
        verify_password(_DUMMY[0], password)
        return False
    return verify_password(stored, password)


SID = web.RequestKey("console_session_token", str)  # the token the request's cookie carried


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSessions(EncryptedCookieStorage):
    """The console's session: the encrypted cookie carries the CSRF token, a flash message and a random
    token; who is logged in is a row on the server (console_session, by the token's hash). Logging out
    deletes the row, so a copy of the cookie stops working at once; so do disabling the account and
    `revoke_staff` (a password change). Every worker checks the same rows."""

    def __init__(self, secret: bytes, db: Database, *, max_age: int, clock: Callable[[], dt.datetime] = utcnow,
                 **cookie: Any):
        super().__init__(secret, max_age=max_age, **cookie)
        self.db, self.clock = db, clock

    async def load_session(self, request: web.Request) -> Session:
        session = await super().load_session(request)
        token = session.get("token")
        if isinstance(token, str):
            request[SID] = token
        if "staff_id" in session:
            staff_id = None
            if isinstance(token, str):
                async with reading(self.db) as tx:
                    staff_id = await tx.sessions.staff_of(_token_hash(token), self.clock())
            if staff_id is None or staff_id != session["staff_id"]:  # logged out elsewhere, revoked, expired
                session.pop("staff_id", None)
                session.pop("token", None)
        return session

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        old = request.get(SID)
        if "staff_id" in session and "token" not in session:  # a log-in: a new row, a new token
            token = secrets.token_urlsafe(32)
            now = self.clock()
            async with transaction(self.db) as tx:
                if old:
                    await tx.sessions.revoke(_token_hash(old))
                await tx.sessions.add(_token_hash(token), int(session["staff_id"]), now,
                                      now + dt.timedelta(seconds=self.max_age or 12 * 3600))
            session["token"] = token
        elif old and session.get("token") != old:  # logged out (the session was invalidated)
            async with transaction(self.db) as tx:
                await tx.sessions.revoke(_token_hash(old))
        await super().save_session(request, response, session)
