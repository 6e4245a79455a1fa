"""Staff accounts (mediators, editors, admins) and the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import audit_log_table as audit_t
from bot.storage.models import staff_user_table as staff_t


@dataclass
class Staff:
    id: int
    login: str
    name: str
    roles: list[str]
    languages: list[str]
    skills: list[str]

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


@dataclass
class Account:
    """An account as login checks and `hotline users list` see it."""

    staff: Staff
    password_hash: str
    active: bool
    last_login_at: dt.datetime | None

    # the fields a listing shows, as on a row
    @property
    def id(self) -> int:
        return self.staff.id

    @property
    def login(self) -> str:
        return self.staff.login

    @property
    def name(self) -> str:
        return self.staff.name

    @property
    def roles(self) -> list[str]:
        return self.staff.roles

    @property
    def languages(self) -> list[str]:
        return self.staff.languages

    @property
    def skills(self) -> list[str]:
        return self.staff.skills


def _staff(row: Any) -> Staff:
    return Staff(id=row.id, login=row.login, name=row.name or "", roles=list(row.roles or []),
                 languages=list(row.languages or []), skills=list(row.skills or []))


def _account(row: Any) -> Account:
    return Account(_staff(row), row.password_hash, bool(row.active), row.last_login_at)


class StaffAccounts:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def get(self, staff_id: int) -> Staff | None:
        """An active account."""
        s = staff_t.c
        row = (await self.conn.execute(select(staff_t).where(s.id == staff_id, s.active))).first()
        return _staff(row) if row else None

    async def active(self) -> list[Staff]:
        s = staff_t.c
        return [_staff(r) for r in (await self.conn.execute(select(staff_t).where(s.active).order_by(s.name))).all()]

    async def by_login(self, login: str) -> Account | None:
        row = (await self.conn.execute(select(staff_t).where(staff_t.c.login == login))).first()
        return _account(row) if row else None

    async def display_name(self, staff_id: int) -> str | None:
        row = (await self.conn.execute(select(staff_t.c.name, staff_t.c.login)
                                       .where(staff_t.c.id == staff_id))).first()
        return (row.name or row.login) if row else None

    async def logged_in(self, staff_id: int, now: dt.datetime) -> None:
        await self.conn.execute(update(staff_t).where(staff_t.c.id == staff_id).values(last_login_at=now))

    async def add(self, *, login: str, name: str, password_hash: str, roles: list[str], languages: list[str],
                  skills: list[str], now: dt.datetime) -> int | None:
        """The new account's id; None when the login is taken."""
        if (await self.conn.execute(select(staff_t.c.id).where(staff_t.c.login == login))).first():
            return None
        return int((await self.conn.execute(insert(staff_t).values(
            login=login, name=name, password_hash=password_hash, roles=roles, languages=languages, skills=skills,
            active=True, must_change_password=False, created_at=now).returning(staff_t.c.id))).scalar_one())

    async def change(self, login: str, **values: Any) -> bool:
        """Set an account's roles, languages, skills or password hash; False when there is no such login."""
        allowed = {"roles", "languages", "skills", "password_hash", "must_change_password"}
        assert set(values) <= allowed, values
        done = await self.conn.execute(update(staff_t).where(staff_t.c.login == login).values(**values))
        return bool(done.rowcount == 1)

    async def all(self) -> list[Account]:
        return [_account(r) for r in (await self.conn.execute(select(staff_t).order_by(staff_t.c.login))).all()]

    async def disable(self, login: str) -> bool:
        done = await self.conn.execute(update(staff_t).where(staff_t.c.login == login).values(active=False))
        return bool(done.rowcount == 1)

    async def count(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(staff_t))).scalar_one())


class Audit:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, action: str, detail: dict[str, Any], now: dt.datetime, staff_id: int | None = None) -> None:
        await self.conn.execute(insert(audit_t).values(at=now, staff_id=staff_id, action=action, detail=detail))

    async def recent(self, limit: int = 500) -> list[Any]:
        """The newest entries, with the login and name of who did it."""
        a, s = audit_t.c, staff_t.c
        return list((await self.conn.execute(
            select(a.id, a.at, a.action, a.detail, a.staff_id, s.login, s.name)
            .select_from(audit_t.outerjoin(staff_t, s.id == a.staff_id))
            .order_by(a.id.desc()).limit(limit))).all())
