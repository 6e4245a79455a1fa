"""A fresh PostgreSQL database for a benchmark run."""

from __future__ import annotations

import asyncio


def fresh_database(url: str) -> bool:
    """Drop and create the database `url` names; False when no PostgreSQL answers."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)

    async def reset() -> None:
        conn = await asyncpg.connect(user=u.username, host=u.host, port=u.port or 5432, database="postgres",
                                     password=u.password, timeout=2)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}"')
            await conn.execute(f'CREATE DATABASE "{u.database}"')
        finally:
            await conn.close()

    try:
        asyncio.run(reset())
        return True
    except (OSError, asyncpg.PostgresError):
        return False
