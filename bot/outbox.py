"""The outbox sender: delivers what the service decided, in order per chat, within rate limits,
retrying what can be retried and never dropping a message silently.

A row is claimed (status 'sending', with a lease in next_attempt_at) and committed before it is sent,
and marked 'sent' after. A crash before the send leaves it pending; a crash after the channel
accepted it but before it was marked leaves a 'sending' row whose lease runs out: it is sent again
once, with a warning in the log. Only the oldest unsent message of each chat is ever claimed, so a
chat's messages keep their order even across retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot import metrics
from bot.storage import Claimed, Database, transaction, utcnow
from bot.vocabulary import mask

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The channel asked us to wait (e.g. Telegram's 429 retry_after)."""

    def __init__(self, seconds: float, progress: int = 0):
        super().__init__(f"retry after {seconds} s")
        self.seconds, self.progress = seconds, progress


class Unreachable(Exception):
    """The person can't be reached on this channel (blocked the bot, deleted the account)."""


class Rejected(Exception):
    """The channel refused this message for good (bad request); retrying would not help."""


class Transient(Exception):
    """A failure worth retrying with backoff (5xx, timeouts), after `progress` parts went out."""

    def __init__(self, message: str, progress: int = 0):
        super().__init__(message)
        self.progress = progress


class Held(Exception):
    """Not to be sent now, nor retried on a timer: kept (status 'held') until something releases it,
    e.g. WhatsApp's 24-hour window reopening when the migrant writes."""


class Sender(Protocol):
    async def send(self, address: str, payload: dict[str, Any]) -> str | None:
        """Deliver one outbox payload, returning the channel's id for it (or None); raise RetryLater,
        Unreachable, Rejected, Transient or Held."""


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def delay(self) -> float:
        """Take a token; the seconds to wait before using it."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class Limits:
    per_chat_rate: float = 1.0  # Telegram: about one message a second in one chat
    per_chat_burst: float = 3.0  # an answer and its "did this help?" go out together
    global_rate: float = 30.0  # Telegram: about 30 messages a second overall
    lease_seconds: float = 120.0  # longer than a send may take (aiogram waits up to 60 s): no double sends
    max_attempts: int = 40  # transient failures, backing off to 5 minutes: about 3 hours in all
    batch: int = 100


class OutboxWorker:
    def __init__(self, db: Database, senders: dict[str, Sender], limits: Limits | None = None,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db, self.senders, self.limits, self.clock = db, senders, limits or Limits(), clock
        self._wake = asyncio.Event()
        self._chat_buckets: dict[tuple[str, str], TokenBucket] = {}
        self._global = TokenBucket(self.limits.global_rate, self.limits.global_rate)
        self._delivered: list[dict[str, Any]] = []  # sent, waiting for _mark_sent's next transaction
        self._marking = asyncio.Lock()
        self._in_flight: set[int] = set()  # claimed by this process and not yet recorded
        self.stopping = False  # run() ends after the round in progress (graceful shutdown)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, idle: float = 1.0) -> None:
        """Send until cancelled or stopping; wakes up at once when told there is something new."""
        while not self.stopping:
            try:
                sent = await self.run_once()
            except Exception:  # the database is away: keep trying, nothing is lost
                log.exception("outbox round failed")
                sent = 0
            if not sent:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), idle)

    async def run_once(self) -> int:
        rows = await self._claim()
        self._in_flight.update(row.id for row in rows)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def release(self) -> int:
        """At shutdown, once run() has ended or been cancelled: rows delivered but not yet marked are
        marked, and rows still claimed by this process go back to the queue at once (for another worker,
        or this one after a restart) instead of waiting for their lease. How many went back."""
        if self._delivered:
            batch, self._delivered = self._delivered, []
            async with transaction(self.db) as tx:
                await tx.outbox.sent(batch)
            self._in_flight.difference_update(int(b["row_id"]) for b in batch)
        ids, self._in_flight = sorted(self._in_flight), set()
        if not ids:
            return 0
        async with transaction(self.db) as tx:
            released = await tx.outbox.release(ids, self.clock())
        log.info("outbox: %d claimed message(s) handed back at shutdown", released)
        return released

    async def _claim(self) -> list[Claimed]:
        async with transaction(self.db) as tx:
            rows = await tx.outbox.claim(list(self.senders), self.clock(),
                                         dt.timedelta(seconds=self.limits.lease_seconds), self.limits.batch)
        for row in rows:
            if row.status == "sending":
                log.warning("outbox %s to %s %s: an earlier attempt was cut off; sending again, so it may "
                            "arrive twice", row.id, row.channel, mask(row.address))
        return rows

    async def _deliver(self, row: Claimed) -> None:
        bucket = self._chat_buckets.setdefault(
            (row.channel, row.address), TokenBucket(self.limits.per_chat_rate, self.limits.per_chat_burst))
        wait = max(bucket.delay(), self._global.delay())
        if wait:
            await asyncio.sleep(wait)
        values: dict[str, Any]
        try:
            external_id = await self.senders[row.channel].send(row.address, dict(row.payload))
        except Held as exc:
            metrics.sent(row.channel, "held")
            values = {"status": "held", "error": str(exc)[:500]}
            log.info("outbox %s to %s %s held: %s", row.id, row.channel, mask(row.address), exc)
        except RetryLater as exc:
            metrics.sent(row.channel, "429")
            values = self._retry(row, exc.seconds, f"rate limited: retry after {exc.seconds} s", exc.progress)
        except Transient as exc:
            metrics.sent(row.channel, "5xx")
            backoff = min(2 ** row.attempts, 300) * (1 + random.random() / 4)
            values = self._retry(row, backoff, str(exc), exc.progress)
            if row.attempts + 1 >= self.limits.max_attempts:
                values["status"] = "failed"
                log.error("outbox %s to %s %s failed for good after %s attempts: %s", row.id, row.channel,
                          mask(row.address), row.attempts + 1, exc)
        except Unreachable as exc:
            metrics.sent(row.channel, "blocked")
            await self._unreachable(row, str(exc))
            return
        except Rejected as exc:
            metrics.sent(row.channel, "rejected")
            values = {"status": "failed", "error": str(exc)[:500]}
            log.error("outbox %s to %s %s rejected: %s", row.id, row.channel, mask(row.address), exc)
        except Exception as exc:  # a sender's bug must not stall the round: retry this row with backoff
            log.exception("outbox %s to %s %s: unexpected error", row.id, row.channel, mask(row.address))
            metrics.sent(row.channel, "error")
            values = self._retry(row, min(2 ** row.attempts, 300), f"unexpected: {exc!r}", 0)
        else:
            self._in_flight.discard(row.id)
            metrics.sent(row.channel, "ok")
            if row.payload.get("erase"):  # the goodbye after /forget: once delivered, nothing of it stays
                async with transaction(self.db) as tx:
                    await tx.outbox.erase([row.id])
            else:
                await self._mark_sent(row.id, external_id)
            return
        async with transaction(self.db) as tx:
            await tx.outbox.set(row.id, **values)
        self._in_flight.discard(row.id)

    async def _mark_sent(self, row_id: int, external_id: str | None) -> None:
        """Mark a delivered row 'sent' at once; rows delivered while that transaction runs are marked
        together in the next one, so under load a transaction marks many messages instead of one."""
        self._delivered.append({"row_id": row_id, "at": self.clock(), "channel_id": external_id})
        async with self._marking:
            if not self._delivered:
                return  # marked by the transaction that ran while this one waited
            batch, self._delivered = self._delivered, []
            async with transaction(self.db) as tx:
                await tx.outbox.sent(batch)

    def _retry(self, row: Claimed, seconds: float, error: str, progress: int) -> dict[str, Any]:
        values: dict[str, Any] = {"status": "pending", "error": error[:500],
                                  "next_attempt_at": self.clock() + dt.timedelta(seconds=seconds)}
        if progress:  # parts of a long text that already went out are not sent again
            payload = dict(row.payload)
            payload["sent_parts"] = int(payload.get("sent_parts", 0)) + progress
            values["payload"] = payload
        log.info("outbox %s to %s %s: %s", row.id, row.channel, mask(row.address), error)
        return values

    async def _unreachable(self, row: Claimed, error: str) -> None:
        """Stop trying a person who blocked the bot: fail their queued messages and mark the channel."""
        async with transaction(self.db) as tx:
            await tx.outbox.fail_unsent(row.channel, row.address, f"unreachable: {error}")
            await tx.channels.unreachable(row.channel, row.address, self.clock())
        log.warning("%s %s is unreachable (%s); their queued messages are marked failed", row.channel,
                    mask(row.address), error)
