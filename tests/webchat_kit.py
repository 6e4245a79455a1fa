"""Web chat session ids for tests: the server issues them (POST /chat/api/session), so a test names its
migrants and gets one issued id per name."""

from __future__ import annotations

import aiohttp


async def new_session(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/chat/api/session") as res:
        assert res.status == 200, await res.text()
        session: str = (await res.json())["session"]
        return session


class Sessions:
    """One issued session id per name, for one server."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    async def of(self, http: aiohttp.ClientSession, base: str, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = await new_session(http, base)
        return self.ids[name]
