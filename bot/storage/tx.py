"""One transaction (or one read) and the repositories that work in it.

    async with transaction(db) as tx:          # BEGIN ... COMMIT (ROLLBACK on an exception)
        conv_id = await tx.conversations.open(contact_id, "telegram", now)
        await tx.outbox.enqueue(...)
    async with reading(db) as tx:              # a connection for reads, no transaction of ours
        staff = await tx.staff.get(staff_id)

Repositories are made on first use: the hot path pays only for the ones it touches.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.canned import CannedReplies
from bot.storage.contacts import ContactChannels, Contacts
from bot.storage.conversations import Conversations, Messages
from bot.storage.flows import FlowVersions
from bot.storage.inbox import Inbox
from bot.storage.outbox import Outbox
from bot.storage.reports import Reports
from bot.storage.retention import Retention
from bot.storage.sessions import ConsoleSessions, LoginFailures
from bot.storage.staff import Audit, StaffAccounts
from bot.storage.timers import Timers
from bot.storage.unanswered import Unanswered

Database = AsyncEngine  # what the rooms hold; only bot/storage opens it


class Tx:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    @property
    def postgresql(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(self.conn)

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(self.conn)

    @cached_property
    def channels(self) -> ContactChannels:
        return ContactChannels(self.conn)

    @cached_property
    def conversations(self) -> Conversations:
        return Conversations(self.conn)

    @cached_property
    def messages(self) -> Messages:
        return Messages(self.conn)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.conn)

    @cached_property
    def unanswered(self) -> Unanswered:
        return Unanswered(self.conn)

    @cached_property
    def staff(self) -> StaffAccounts:
        return StaffAccounts(self.conn)

    @cached_property
    def audit(self) -> Audit:
        return Audit(self.conn)

    @cached_property
    def canned(self) -> CannedReplies:
        return CannedReplies(self.conn)

    @cached_property
    def timers(self) -> Timers:
        return Timers(self.conn)

    @cached_property
    def flows(self) -> FlowVersions:
        return FlowVersions(self.conn)

    @cached_property
    def retention(self) -> Retention:
        return Retention(self.conn)

    @cached_property
    def sessions(self) -> ConsoleSessions:
        return ConsoleSessions(self.conn)

    @cached_property
    def login_failures(self) -> LoginFailures:
        return LoginFailures(self.conn)

    def reports(self, sla: dt.timedelta) -> Reports:
        return Reports(self.conn, sla)


class _Scope:
    """`async with`: a Tx over db.begin() (a transaction) or db.connect() (reads). A class rather than
    an @asynccontextmanager generator: it runs once per message on the hot path."""

    __slots__ = ("_cm",)

    def __init__(self, db: AsyncEngine, write: bool):
        self._cm: Any = db.begin() if write else db.connect()

    async def __aenter__(self) -> Tx:
        return Tx(await self._cm.__aenter__())

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._cm.__aexit__(kind, exc, tb)


def transaction(db: AsyncEngine) -> _Scope:
    return _Scope(db, True)


def reading(db: AsyncEngine) -> _Scope:
    return _Scope(db, False)
