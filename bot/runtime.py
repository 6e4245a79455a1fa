"""Wiring: database (migrated), flows, catalogs and the conversation service, from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.engine import Engine
from bot.flowspec import FlowSet, load
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.settings import Settings
from bot.storage.db import create_engine, upgrade

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: AsyncEngine
    flows: FlowSet
    service: ConversationService
    texts: Catalogs

    async def close(self) -> None:
        await self.db.dispose()


async def create_runtime(settings: Settings) -> Runtime:
    """Raises FlowError when the flow files are invalid: the hotline never serves a broken flow set."""
    flows = load(settings.flows_dir)
    url = settings.db_url()
    shown = await upgrade(url)
    log.info("database ready: %s", shown)
    db = create_engine(url)
    texts = Catalogs(settings.translations_dir)
    service = ConversationService(db, Engine(flows, texts))
    return Runtime(settings=settings, db=db, flows=flows, service=service, texts=texts)
