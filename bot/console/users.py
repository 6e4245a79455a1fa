"""Staff accounts: `hotline users add|list|disable`, and the first admin on a fresh install."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.auth import ROLES, hash_password, new_password
from bot.storage.models import audit_log_table as audit_t
from bot.storage.models import staff_user_table as staff_t
from bot.storage.models import utcnow

LANGS = ("ru", "uz", "tg", "ky")
SKILLS = ("legal", "medical", "general")


class UserError(Exception):
    pass


def _check(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise UserError(f"unknown {what}: {', '.join(bad)} (choose from {', '.join(allowed)})")
    return values


async def add_user(db: AsyncEngine, login: str, *, name: str = "", roles: list[str], languages: list[str],
                   skills: list[str], password: str | None = None) -> str:
    """Create an account; returns its password (a new random one unless given)."""
    login = login.strip().lower()
    if not login or len(login) > 64:
        raise UserError("a login is 1 to 64 characters")
    _check(roles, ROLES, "role")
    _check(languages, LANGS, "language")
    _check(skills, SKILLS, "skill")
    password = password or new_password()
    if len(password) < 10:
        raise UserError("a password has at least 10 characters")
    async with db.begin() as conn:
        if (await conn.execute(select(staff_t.c.id).where(staff_t.c.login == login))).first():
            raise UserError(f"the login {login!r} exists already")
        staff_id = (await conn.execute(insert(staff_t).values(
            login=login, name=name or login, password_hash=hash_password(password), roles=roles, languages=languages,
            skills=skills, active=True, must_change_password=False, created_at=utcnow()).returning(staff_t.c.id))
        ).scalar_one()
        await conn.execute(insert(audit_t).values(at=utcnow(), staff_id=None, action="user.add",
                                                  detail={"user": staff_id, "login": login, "roles": roles}))
    return password


async def list_users(db: AsyncEngine) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(select(staff_t).order_by(staff_t.c.login))).all())


async def disable_user(db: AsyncEngine, login: str) -> None:
    async with db.begin() as conn:
        done = await conn.execute(update(staff_t).where(staff_t.c.login == login.strip().lower())
                                  .values(active=False))
        if done.rowcount != 1:
            raise UserError(f"no user {login!r}")
        await conn.execute(insert(audit_t).values(at=utcnow(), staff_id=None, action="user.disable",
                                                  detail={"login": login}))


async def ensure_first_admin(db: AsyncEngine) -> str | None:
    """On a fresh install: an admin who is also an editor and a mediator of every language; returns
    its one-time password, or None when staff accounts exist."""
    async with db.connect() as conn:
        if (await conn.execute(select(func.count()).select_from(staff_t))).scalar_one():
            return None
    return await add_user(db, "admin", name="Admin", roles=list(ROLES), languages=list(LANGS), skills=list(SKILLS))
