"""The composition root: `build(settings) -> Hotline`, the one place that makes the database (migrated),
the flows, the catalogs, the conversation service and the mediators' side, each given its collaborators
when it is made. `hotline serve`, `hotline chat` and the benchmarks start from it; the CLI's database
commands use `database(settings)`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from bot.core.engine import Engine
from bot.events import EventBus
from bot.flows_db.reload import EngineCache, FlowReloader
from bot.flows_db.store import FlowStore, read_dir
from bot.flowspec import FlowError, FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.settings import Settings
from bot.storage import Database, transaction, utcnow
from bot.storage.db import create_engine, upgrade
from handoff.hours import OfficeHours
from handoff.service import HandoffPolicy, HandoffService

log = logging.getLogger(__name__)


class ConfigError(Exception):
    pass


@dataclass
class Hotline:
    settings: Settings
    db: Database
    flows: FlowSet
    service: ConversationService
    texts: Catalogs
    store: FlowStore | None = None  # flow versions in the database
    reloader: FlowReloader | None = None  # switches the service to a newly published version
    flow_version: int = 0  # the version served
    events: EventBus | None = None  # live events for the consoles (not started: serve starts it)
    handoff: HandoffService | None = None  # the mediators' side, hooked into the service

    async def close(self) -> None:
        await self.db.dispose()


Runtime = Hotline  # its former name


def whatsapp_enabled(settings: Settings) -> bool:
    return settings.whatsapp_enabled


def handoff_policy(settings: Settings) -> HandoffPolicy:
    try:
        hours = OfficeHours.parse(settings.office_hours, settings.office_timezone, settings.office_holidays)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"OFFICE_HOURS / OFFICE_TIMEZONE / OFFICE_HOLIDAYS: {exc}") from exc
    return HandoffPolicy(hours=hours, sla=dt.timedelta(minutes=settings.sla_minutes),
                         inactivity=dt.timedelta(hours=settings.inactivity_hours))


def check_settings(settings: Settings) -> None:
    """What the settings' own validators cannot check, before anything starts (ConfigError): the office
    hours' grammar, which handoff.hours parses. Everything else is refused when the settings are read."""
    handoff_policy(settings)


def events_for(settings: Settings) -> EventBus:
    """The event bus of every hotline process on this database (Redis when REDIS_URL is set)."""
    return EventBus(settings.redis_url, namespace=hashlib.sha256(settings.db_url().encode()).hexdigest()[:12])


async def database(settings: Settings) -> Database:
    """The database, migrated to the newest schema."""
    url = settings.db_url()
    shown = await upgrade(url)
    log.info("database ready: %s", shown)
    return create_engine(url)


async def purge(db: Database, days: int, now: dt.datetime | None = None) -> dict[str, int]:
    """RETENTION_DAYS: what is older than `days` days goes (bot/storage/retention.py); counts per kind."""
    before = (now or utcnow()) - dt.timedelta(days=days)
    async with transaction(db) as tx:
        counts = await tx.retention.purge(before)
    log.info("retention: removed what is older than %d days: %s", days, counts)
    return counts


async def _files_changed(store: FlowStore, settings: Settings, version: Any, flows: FlowSet,
                         on_disk: dict[str, str]) -> tuple[Any, FlowSet]:
    """The files in FLOWS_DIR were edited since the served version. When that version itself came from
    the files (first start or an import), the edited files are published, so editing the YAML and
    restarting works; when editors have published in the console since, their work is kept and served."""
    if version.kind not in ("initial", "import") or version.effective_at is not None:  # or scheduled: kept
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


async def build(settings: Settings, *, mediators: bool = True) -> Hotline:
    """The hotline the settings describe. Serves the newest published flow version in the database; on
    the first start the files in FLOWS_DIR become version 1. Raises FlowError when no version passes the
    checks (the hotline never serves a broken flow set) and ConfigError for settings that do not fit.
    `mediators`: with the handoff's extra lines (place in the queue, office hours) and live events."""
    check_settings(settings)
    db = await database(settings)
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
    events = handoff = None
    if mediators:
        events = events_for(settings)
        handoff = HandoffService(db, texts, events, handoff_policy(settings))
        service = ConversationService(db, engine, clock=handoff.clock, on_handoff=handoff.on_handoff,
                                      publish=events.publish, max_chars=settings.max_message_chars)
        service.closed_note = handoff.closed_note
    else:
        service = ConversationService(db, engine, max_chars=settings.max_message_chars)
    hotline = Hotline(settings=settings, db=db, flows=flows, service=service, texts=texts, store=store,
                      flow_version=version.number, events=events, handoff=handoff)

    def switched(number: int, flowset: FlowSet) -> None:
        hotline.flows, hotline.flow_version = flowset, number

    hotline.reloader = FlowReloader(store, service, texts, current=version.number, on_switch=switched,
                                    interval=settings.flows_reload_seconds, engines=engines)
    return hotline


async def create_runtime(settings: Settings) -> Hotline:
    """The hotline without the mediators' side wired in (tests hook their own)."""
    return await build(settings, mediators=False)
