"""The aiohttp application: /healthz, the web chat, and (as they land) the channels' webhooks."""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web

from bot.channels import webchat
from bot.flowspec import FlowError
from bot.runtime import Runtime, create_runtime
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)
RUNTIME_KEY = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    return web.json_response({"status": "ok", "flows": len(runtime.flows.flows)})


def build_app(runtime: Runtime) -> web.Application:
    # A little above the longest message we accept, so an oversized one gets our clear 413 message.
    app = web.Application(client_max_size=max(64 * 1024, runtime.settings.max_message_chars * 8))
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", healthz)
    webchat.setup(app, runtime.service, runtime.settings.max_message_chars)
    return app


async def serve(settings: Settings) -> None:
    runtime = await create_runtime(settings)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    print(f"hotline: web chat at http://{settings.http_host}:{settings.http_port}/ (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await runtime.close()


def run_server() -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(settings))
    except FlowError as exc:
        print(f"the flow files have errors; nothing was served:\n{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
