"""Every process serves the flow version in effect and switches to another within seconds: a cheap look
at the number of the version in effect every few seconds (by the store's clock, so a version scheduled for
midnight is served from the first look after midnight, with no one at the keyboard), and at once on a
"flows.published" event (which reaches every process through Redis when REDIS_URL is set). A version
that fails the checks is never served: the process keeps the last good one and says why in the log, once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from bot.core.engine import Engine
from bot.core.texts import Texts
from bot.events import EventBus
from bot.flows_db.store import EVENT, Files, FlowStore, errors, files_key, validate
from bot.flowspec import FlowSet

log = logging.getLogger(__name__)


class Serving(Protocol):
    """What a reloader switches: the conversation service, as far as a flow version concerns it."""

    engine: Engine


class EngineCache:
    """The engines of the last few flow sets, by their texts. Building one (the understanding index of
    every answer's examples) takes seconds, so the engine the editor's preview built is the one served
    after publishing, and a rollback to the version served before switches at once."""

    def __init__(self, texts: Texts, size: int = 3):
        self.texts, self.size = texts, size
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = asyncio.Lock()

    def put(self, files: Files, engine: Engine) -> None:
        key = files_key(files)
        self._engines[key] = engine
        self._engines.move_to_end(key)
        while len(self._engines) > self.size:
            self._engines.popitem(last=False)

    async def get(self, files: Files, flowset: FlowSet) -> Engine:
        """The engine over `flowset` (read from `files`), built in a thread when it is not kept."""
        key = files_key(files)
        async with self._lock:  # one build at a time: two would only take twice as long
            engine = self._engines.get(key)
            if engine is None:
                engine = await asyncio.to_thread(Engine, flowset, self.texts)
            self.put(files, engine)
            return engine


class FlowReloader:
    def __init__(self, store: FlowStore, service: Serving, texts: Texts, *, current: int,
                 on_switch: Callable[[int, FlowSet], None] | None = None, interval: float = 2.0,
                 engines: EngineCache | None = None):
        self.store, self.service, self.texts = store, service, texts
        self.engines = engines or EngineCache(texts)
        self.current = current  # the version this process serves
        self.on_switch = on_switch
        self.interval = interval
        self.refused: set[int] = set()  # versions that failed the checks here: not tried again
        self._lock = asyncio.Lock()

    async def check(self) -> bool:
        """Switch to the version in effect if it is not the one served and passes the checks."""
        async with self._lock:
            latest = await self.store.serving_number()
            if latest in (0, self.current) or latest in self.refused:
                return False
            version = await self.store.get(latest)
            if version is None or version.files is None:
                return False
            flowset, problems = await asyncio.to_thread(validate, version.files)
            if errors(problems):
                self.refused.add(latest)
                log.error("flow version %d fails the checks; still serving version %d:\n%s", latest, self.current,
                          "\n".join(str(p) for p in errors(problems)))
                return False
            engine = await self.engines.get(version.files, flowset)
            self.service.engine = engine  # one assignment: a message is handled by the old or the new engine
            self.current = latest
            if self.on_switch is not None:
                self.on_switch(latest, flowset)
            log.info("now serving flow version %d (%s by %s)", latest, version.kind, version.author)
            return True

    async def safe_check(self) -> None:
        try:
            await self.check()
        except Exception:  # a database hiccup must not stop the reloading for good
            log.exception("could not look for a new flow version")

    async def run(self, events: EventBus | None = None) -> None:
        """Look every `interval` seconds, and at once when a publish is announced."""
        if events is None:
            while True:
                await asyncio.sleep(self.interval)
                await self.safe_check()
        loop = asyncio.get_running_loop()
        async with events.subscribe() as queue:
            while True:
                deadline = loop.time() + self.interval
                with contextlib.suppress(TimeoutError):
                    while True:  # events of other kinds (console updates) don't count
                        event = await asyncio.wait_for(queue.get(), max(deadline - loop.time(), 0))
                        if event.get("type") == EVENT:
                            break
                await self.safe_check()
