"""Migrations: after `upgrade` the schema is exactly what the models describe (alembic's autogenerate finds
nothing to do), on SQLite and PostgreSQL; and down to nothing and up again works."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import alembic_config, create_engine, upgrade
from bot.storage.models import Base
from tests.conftest import _drop_pg_database, _ensure_pg_database, _pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = _pg_url()
    if base is None:
        pytest.skip("PostgreSQL is not running (set TEST_DATABASE_URL to run these)")
    url = make_url(base).set(database=f"hotline_migrations_{os.getpid()}").render_as_string(hide_password=False)
    await _drop_pg_database(url)
    await _ensure_pg_database(url)
    try:
        yield url
    finally:
        await _drop_pg_database(url)


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def _check(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
        assert await conn.run_sync(_tables) == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}


async def test_upgrade_matches_the_models_and_downgrade_works(empty_url: str) -> None:
    await upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        await _check(engine)
        config = alembic_config(empty_url)
        head = ScriptDirectory.from_config(config).get_current_head()
        async with engine.connect() as conn:
            current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        assert current == head
        await engine.dispose()  # SQLite: let the migration's own connection change the schema

        await asyncio.to_thread(command.downgrade, config, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await engine.dispose()

        await upgrade(empty_url)
        await _check(engine)
        await upgrade(empty_url)  # a second upgrade is a no-op
        await _check(engine)
    finally:
        await engine.dispose()


async def test_every_revision_steps_down_and_up(empty_url: str) -> None:
    """One step at a time, so that each downgrade undoes exactly its upgrade."""
    config = alembic_config(empty_url)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()][::-1]
    assert len(revisions) >= 2
    await upgrade(empty_url)
    for _ in revisions:
        await asyncio.to_thread(command.downgrade, config, "-1")
    for _ in revisions:
        await asyncio.to_thread(command.upgrade, config, "+1")
    engine = create_engine(empty_url)
    try:
        await _check(engine)
    finally:
        await engine.dispose()


async def test_the_comparison_sees_a_difference(empty_url: str) -> None:
    """The check above would notice a model the migrations don't create."""
    from sqlalchemy import Column, MetaData, String

    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["contact"].append_column(Column("nickname", String(40)))
    await upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), changed))
    finally:
        await engine.dispose()
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "contact", "nickname")]
