"""SQLite statements in one trip to aiosqlite's thread each, instead of four.

SQLAlchemy's aiosqlite adapter makes a cursor, executes, fetches and closes the cursor as four separate
calls into aiosqlite's worker thread; each is a queue put, a wake-up of the event loop through its self-pipe
and a GIL hand-over, and on the Telegram webhook path (about eight statements an update) those hops were
the largest share of the CPU time (benchmarks/RESULTS.md). Here the four run as one function on that thread.
The rows, description, rowcount and lastrowid the rest of SQLAlchemy reads are the same.

It uses aiosqlite's `Connection._execute` (queue a function for its thread) and `_conn` (the sqlite3
connection), which aiosqlite has kept since 0.17; tests/test_storage_sqlite.py fails if they go.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor

_Result = tuple[Any, deque[Any], Any, int]  # description, rows, lastrowid, rowcount


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    """On aiosqlite's thread: the statement, its rows, closed."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
            return None, deque(), cursor.lastrowid, cursor.rowcount
        cursor.execute(operation, () if parameters is None else parameters)
        if cursor.description:
            return cursor.description, deque(cursor.fetchall()), -1, -1
        return None, deque(), cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _one_trip(self, operation: str, parameters: Any, many: bool) -> None:
        driver = self._connection  # the aiosqlite Connection
        try:
            result = self.await_(driver._execute(lambda: _run(driver._conn, operation, parameters, many)))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description, self._rows, self.lastrowid, self.rowcount = result

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._one_trip(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._one_trip(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else OneTripCursor(self)


def one_trip(dbapi_connection: Any) -> None:
    """Called as each SQLite connection is made: its statements go in one trip each from now on."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
