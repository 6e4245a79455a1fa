"""Wiring: database (migrated), flows, catalogs and the conversation service, from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.engine import Engine
from bot.flows_db.reload import EngineCache, FlowReloader
from bot.flows_db.store import FlowStore, read_dir
from bot.flowspec import FlowError, FlowSet
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
    store: FlowStore | None = None  # flow versions in the database
    reloader: FlowReloader | None = None  # switches the service to a newly published version
    flow_version: int = 0  # the version served

    async def close(self) -> None:
        await self.db.dispose()


async def _files_changed(store: FlowStore, settings: Settings, version: Any, flows: FlowSet,
                         on_disk: dict[str, str]) -> tuple[Any, FlowSet]:
    """The files in FLOWS_DIR were edited since the served version. When that version itself came from
    the files (first start or an import), the edited files are published, so editing the YAML and
    restarting works; when editors have published in the console since, their work is kept and served."""
    if version.kind not in ("initial", "import"):
        log.warning("the files in %s differ from flow version %d, published in the console, which is served; "
                    "`hotline flows import %s` would publish the files instead", settings.flows_dir,
                    version.number, settings.flows_dir)
        return version, flows
    try:
        await store.publish(on_disk, kind="import", author="start-up", note=f"files changed in {settings.flows_dir}",
                            based_on=version.number)
    except FlowError as exc:
        log.error("the edited files in %s fail the checks; still serving version %d:\n%s", settings.flows_dir,
                  version.number, exc)
        return version, flows
    return await store.serving()


async def create_runtime(settings: Settings) -> Runtime:
    """Serves the newest published flow version in the database; on the first start the files in
    FLOWS_DIR become version 1. Raises FlowError when no version passes the checks: the hotline never
    serves a broken flow set."""
    url = settings.db_url()
    shown = await upgrade(url)
    log.info("database ready: %s", shown)
    db = create_engine(url)
    store = FlowStore(db)
    try:
        await store.ensure_initial(settings.flows_dir)
        version, flows = await store.serving()
    except BaseException:
        await db.dispose()
        raise
    if settings.flows_dir.is_dir() and version.files is not None:
        on_disk, _ = read_dir(settings.flows_dir)
        if on_disk and on_disk != version.files:
            version, flows = await _files_changed(store, settings, version, flows, on_disk)
    log.info("serving flow version %d (%s, %s)", version.number, version.kind, version.note)
    texts = Catalogs(settings.translations_dir)
    engines = EngineCache(texts)
    assert version.files is not None
    engine = Engine(flows, texts)
    engines.put(version.files, engine)
    service = ConversationService(db, engine)
    runtime = Runtime(settings=settings, db=db, flows=flows, service=service, texts=texts, store=store,
                      flow_version=version.number)

    def switched(number: int, flowset: FlowSet) -> None:
        runtime.flows, runtime.flow_version = flowset, number

    runtime.reloader = FlowReloader(store, service, texts, current=version.number, on_switch=switched,
                                    interval=settings.flows_reload_seconds, engines=engines)
    return runtime
