"""Tables. Times are stored as naive UTC (SQLite keeps no offsets) and read back as aware UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a plain class attribute)
        dt.datetime: UTCDateTime, dict[str, Any]: JsonType, list[Any]: JsonType}


class Contact(Base):
    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lang: Mapped[str | None] = mapped_column(String(8))
    script: Mapped[str] = mapped_column(String(8), default="Latn")
    vars: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notice_shown: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactChannel(Base):
    __tablename__ = "contact_channel"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_contact_channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column()
    unreachable_at: Mapped[dt.datetime | None] = mapped_column()
    window_notice_at: Mapped[dt.datetime | None] = mapped_column()  # WhatsApp: template sent outside the window


class Conversation(Base):
    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_contact_status", "contact_id", "status"),
                      Index("ix_conversation_started", "started_at"))  # reports select by date
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="BOT")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queue: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    lang: Mapped[str | None] = mapped_column(String(8))  # the contact's language when handed over: routing
    topic: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[dt.datetime | None] = mapped_column()
    first_response_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    resolution: Mapped[str | None] = mapped_column(String(40))
    rating: Mapped[int | None] = mapped_column(Integer)
    # The first handover, kept for reports (waiting_since is cleared when a mediator takes it): when, and
    # why (the engine's reason: keyword, urgent, not_understood, feedback, media, ...).
    handed_over_at: Mapped[dt.datetime | None] = mapped_column()
    handoff_reason: Mapped[str | None] = mapped_column(String(24))


class ForgottenConversation(Base):
    """What reports count of a conversation whose contact used /forget: no contact, no messages, no
    citizenship or region; `person` is a random number drawn once per forgotten contact, so that the
    people reached still count them once."""

    __tablename__ = "forgotten_conversation"
    __table_args__ = (Index("ix_forgotten_started", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # its own: a conversation's id may be reused
    person: Mapped[int] = mapped_column(Integer)  # negative: never an existing contact's id
    first_seen: Mapped[dt.datetime] = mapped_column()  # the contact's creation: new or returning
    channel: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str | None] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column()
    handed_over_at: Mapped[dt.datetime | None] = mapped_column()
    handoff_reason: Mapped[str | None] = mapped_column(String(24))
    first_response_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    resolution: Mapped[str | None] = mapped_column(String(40))
    rating: Mapped[int | None] = mapped_column(Integer)


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation", "conversation_id", "id"),
                      Index("ix_message_created", "created_at"))  # reports: feedback, typed questions
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out | activity | note
    sender: Mapped[str] = mapped_column(String(16))  # migrant | bot | mediator | system
    staff_id: Mapped[int | None] = mapped_column(Integer)  # the mediator who wrote it
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list[Any] | None] = mapped_column()
    media: Mapped[list[Any] | None] = mapped_column()
    node: Mapped[str | None] = mapped_column(String(90))
    topic: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboxEvent(Base):
    __tablename__ = "inbox_event"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_inbox_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))  # chat id / phone number: survives /forget
    payload: Mapped[dict[str, Any]] = mapped_column()
    message_id: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the channel's id once sent
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending sending sent held failed
    #                                           (and from delivery receipts: delivered, read, undelivered)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffUser(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[Any]] = mapped_column(default=list)  # admin, editor, mediator
    languages: Mapped[list[Any]] = mapped_column(default=list)  # ru, uz, tg, ky
    skills: Mapped[list[Any]] = mapped_column(default=list)  # legal, medical, general
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()


class CannedReply(Base):
    __tablename__ = "canned_reply"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Timer(Base):
    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "done_at", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # sla | inactive
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    done_at: Mapped[dt.datetime | None] = mapped_column()


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FlowVersion(Base):
    """A published flow set: the exact texts of its files, so exporting it gives the same bytes back.
    Served is the version that took effect last (at once, or at its `effective_at`); older ones are
    archived (a rollback publishes an old text again); a scheduled one can be cancelled before its time."""

    __tablename__ = "flow_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3 ... (what staff see)
    status: Mapped[str] = mapped_column(String(16), default="published")  # published|archived|scheduled|cancelled
    kind: Mapped[str] = mapped_column(String(16))  # initial | import | publish | rollback
    files: Mapped[dict[str, Any]] = mapped_column()  # file name -> its text, e.g. {"patent.yaml": "..."}
    author_id: Mapped[int | None] = mapped_column(Integer)  # the staff member; None from the command line
    author: Mapped[str] = mapped_column(String(128), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    based_on: Mapped[int | None] = mapped_column(Integer)  # the version the change started from
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[dt.datetime | None] = mapped_column()  # None: at once, when published


class FlowDraft(Base):
    """One editor's unpublished changes: the whole flow set's texts, started from `base_version`."""

    __tablename__ = "flow_draft"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), unique=True)
    base_version: Mapped[int] = mapped_column(Integer)
    files: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnansweredQuestion(Base):
    """A typed question the bot found no answer for, kept for the editors."""

    __tablename__ = "unanswered_question"
    __table_args__ = (Index("ix_unanswered_status", "status", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    script: Mapped[str | None] = mapped_column(String(8))
    topic_guess: Mapped[str | None] = mapped_column(String(40))
    node_guess: Mapped[str | None] = mapped_column(String(90))
    confidence: Mapped[float] = mapped_column(default=0.0)
    channel: Mapped[str] = mapped_column(String(16))
    # whose question: /forget deletes it with the rest (SET NULL would keep the text; CASCADE does not)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | added | dismissed
    handled_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A console log-in: the cookie carries a random token, this row its hash. Logging out, a password
    change or disabling the account deletes the rows, so a copied cookie stops working at once."""

    __tablename__ = "console_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token, hex
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class LoginFailure(Base):
    """A failed console log-in, per account and per client address (hashed: a password typed into the
    login field must not be stored), shared by every worker; rows older than the window are pruned."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))  # sha256 of "login:<name>" or "ip:<address>", hex
    at: Mapped[dt.datetime] = mapped_column()


# The Core tables, typed (SQLAlchemy types Model.__table__ as a FromClause), for the modules that
# speak SQLAlchemy Core on hot paths.
audit_log_table = cast(Table, AuditLog.__table__)
canned_reply_table = cast(Table, CannedReply.__table__)
console_session_table = cast(Table, ConsoleSession.__table__)
contact_table = cast(Table, Contact.__table__)
contact_channel_table = cast(Table, ContactChannel.__table__)
conversation_table = cast(Table, Conversation.__table__)
forgotten_conversation_table = cast(Table, ForgottenConversation.__table__)
flow_draft_table = cast(Table, FlowDraft.__table__)
flow_version_table = cast(Table, FlowVersion.__table__)
inbox_event_table = cast(Table, InboxEvent.__table__)
login_failure_table = cast(Table, LoginFailure.__table__)
message_table = cast(Table, Message.__table__)
outbox_table = cast(Table, Outbox.__table__)
staff_user_table = cast(Table, StaffUser.__table__)
timer_table = cast(Table, Timer.__table__)
unanswered_question_table = cast(Table, UnansweredQuestion.__table__)
