"""Operators' endpoints: /metrics (Prometheus text; 127.0.0.1 only unless a bearer token is set and
given) and /readyz (the database answers, and Redis when configured). /healthz stays in bot/app.py, cheap."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import metrics
from bot.runtime import Runtime
from bot.storage import utcnow
from bot.storage.ops import ping, snapshot

log = logging.getLogger(__name__)
LOCAL = frozenset({"127.0.0.1", "::1"})
RUNTIME = web.AppKey("probes_runtime", Runtime)


def allowed(request: web.Request, token: str | None) -> bool:
    """From this machine, or with the configured bearer token (compared in constant time)."""
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    return request.remote in LOCAL


async def metrics_page(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    token = runtime.settings.metrics_token.get_secret_value() if runtime.settings.metrics_token else None
    if not allowed(request, token):
        return web.Response(status=401, text="Metrics are open to 127.0.0.1, or with the bearer token.",
                            headers={"WWW-Authenticate": "Bearer"})
    snap = await snapshot(runtime.db, utcnow())
    metrics.OUTBOX_DEPTH.clear()
    metrics.OUTBOX_AGE.clear()
    for (channel, status), (rows, age) in snap.outbox.items():
        metrics.OUTBOX_DEPTH.labels(channel, status).set(rows)
        metrics.OUTBOX_AGE.labels(channel, status).set(age)
    metrics.DEAD_LETTERS.set(sum(rows for (_, status), (rows, _) in snap.outbox.items() if status == "failed"))
    metrics.WAITING.set(snap.waiting)
    metrics.OLDEST_WAIT.set(snap.oldest_wait)
    metrics.TIMERS_DUE.set(snap.timers_due)
    metrics.FLOW_VERSION.set(runtime.flow_version)
    return web.Response(body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    checks: dict[str, str] = {}
    try:
        await ping(runtime.db)
        checks["database"] = "ok"
    except Exception as exc:  # any failure is "not ready"; the type is enough for the operator
        checks["database"] = type(exc).__name__
    if runtime.settings.redis_url:
        from redis import asyncio as aioredis

        client = aioredis.from_url(runtime.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
        finally:
            await client.aclose()
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        log.warning("not ready: %s", checks)
    return web.json_response({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


def setup(app: web.Application, runtime: Runtime) -> None:
    app[RUNTIME] = runtime
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/readyz", readyz)
