"""Live events for the consoles: in one process through asyncio queues, across processes through
Redis pub/sub when REDIS_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)
CHANNEL = "hotline:events"


class EventBus:
    """publish() reaches every subscriber in this process (and, with Redis, in every process)."""

    def __init__(self, redis_url: str = "", namespace: str = ""):
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._redis_url = redis_url
        # One Redis may serve several deployments (or test runs): each hears only its own database's events.
        self.channel = f"{CHANNEL}:{namespace}" if namespace else CHANNEL
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._redis_url:
            return
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(self._redis_url)
        # Subscribing happens in the listener, which keeps trying: a worker starts and serves while Redis
        # is down (events then stay in this process) and joins the others when Redis is back.
        self._listener = asyncio.create_task(self._listen(), name="redis-events")

    async def _listen(self) -> None:
        backoff = 1.0
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                if backoff > 1:
                    log.info("redis is back: live events reach every process again")
                backoff = 1.0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message and message.get("type") == "message":
                        with contextlib.suppress(ValueError):
                            self._local(json.loads(message["data"]))
            except Exception as exc:  # down at start, or went away: retry, backing off up to 30 s
                log.warning("redis unavailable (%s); live events stay in this process; retrying in %.0f s",
                            type(exc).__name__, backoff)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    def _local(self, event: dict[str, Any]) -> None:
        for queue in list(self._queues):
            if queue.qsize() < 1000:  # a stuck browser tab must not grow memory without bound
                queue.put_nowait(event)

    async def publish(self, event: dict[str, Any]) -> None:
        if self._redis is not None:
            try:
                await self._redis.publish(self.channel, json.dumps(event))
                return
            except Exception as exc:
                log.warning("redis publish failed (%s); delivering in this process only", type(exc).__name__)
        self._local(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
