"""Staff accounts: `hotline users add|list|disable`, and the first admin on a fresh install."""

from __future__ import annotations

from bot.console.auth import ROLES, hash_password, new_password
from bot.storage import Account, Database, reading, transaction, utcnow
from bot.vocabulary import LANGS, SKILLS


class UserError(Exception):
    pass


def _check(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise UserError(f"unknown {what}: {', '.join(bad)} (choose from {', '.join(allowed)})")
    return values


async def add_user(db: Database, login: str, *, name: str = "", roles: list[str], languages: list[str],
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
    async with transaction(db) as tx:
        staff_id = await tx.staff.add(login=login, name=name or login, password_hash=hash_password(password),
                                      roles=roles, languages=languages, skills=skills, now=utcnow())
        if staff_id is None:
            raise UserError(f"the login {login!r} exists already")
        await tx.audit.add("user.add", {"user": staff_id, "login": login, "roles": roles}, utcnow())
    return password


async def list_users(db: Database) -> list[Account]:
    async with reading(db) as tx:
        return await tx.staff.all()


async def disable_user(db: Database, login: str) -> None:
    async with transaction(db) as tx:
        if not await tx.staff.disable(login.strip().lower()):
            raise UserError(f"no user {login!r}")
        await tx.audit.add("user.disable", {"login": login}, utcnow())


async def ensure_first_admin(db: Database) -> str | None:
    """On a fresh install: an admin who is also an editor and a mediator of every language; returns
    its one-time password, or None when staff accounts exist."""
    async with reading(db) as tx:
        if await tx.staff.count():
            return None
    return await add_user(db, "admin", name="Admin", roles=["admin", "editor", "mediator"], languages=list(LANGS),
                          skills=list(SKILLS))
