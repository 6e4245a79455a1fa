"""The one place that speaks SQL: tables (models), engine and migrations (db), and small repositories
that work inside one transaction (tx.Tx: tx.contacts, tx.conversations, tx.outbox ...) and return
dataclasses. The rest of the house holds a `Database` and opens `transaction(db)` or `reading(db)`."""

from sqlalchemy.exc import IntegrityError as DuplicateKey

from bot.storage.contacts import Found, Window
from bot.storage.conversations import Closed, ConversationRef, Record, message_row
from bot.storage.flows import Draft, Files, Version
from bot.storage.models import utcnow
from bot.storage.outbox import Claimed, Outgoing
from bot.storage.staff import Account, Staff
from bot.storage.timers import Due
from bot.storage.tx import Database, Tx, reading, transaction

__all__ = ["Account", "Claimed", "Closed", "ConversationRef", "Database", "Draft", "Due", "DuplicateKey", "Files",
           "Found", "Outgoing", "Record", "Staff", "Tx", "Version", "Window", "message_row", "reading", "transaction",
           "utcnow"]
