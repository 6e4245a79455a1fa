"""`hotline serve` with the console, as a newcomer meets it: the first admin's one-time password, and
Ctrl-C stopping the server at once even while a console tab listens for live updates."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import aiohttp

from tests.console_kit import CSRF
from tests.serve_kit import serve


async def test_first_admin_once_and_ctrl_c_with_a_console_open(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    async with serve(tmp_path, "first", DATABASE_URL=db_url) as server:
        password = await server.admin_password()
        assert re.search(r"mediator console at http://127\.0\.0\.1:\d+/console", server.output())
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{server.base}/console/login") as res:
                token = CSRF.search(await res.text())
            assert token
            async with http.post(f"{server.base}/console/login", allow_redirects=False, data={
                    "_csrf": token.group(1), "login": "admin", "password": password}) as res:
                assert res.status == 303
            async with http.get(f"{server.base}/console/c/1/messages", params={"after": "x"}) as res:
                assert res.status == 400
            async with http.get(f"{server.base}/console/events") as stream:
                assert await stream.content.readline() == b": connected\n"
                started = time.monotonic()
                server.proc.send_signal(signal.SIGINT)  # Ctrl-C
                code = await asyncio.to_thread(server.proc.wait, 30)
                assert time.monotonic() - started < 10, "the server waited for the open event stream"
                assert code == 0, server.errors()
                assert (await stream.content.read()).strip() == b""  # the stream ended
    async with serve(tmp_path, "second", DATABASE_URL=db_url) as again:
        await asyncio.sleep(0.5)
        assert "first console account" not in again.output()  # accounts exist: no new password
