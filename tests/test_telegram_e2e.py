"""End to end: `hotline serve` as a separate process in polling mode against the fake Bot API server on
127.0.0.1, a migrant talking to it on Telegram while the web chat answers on HTTP, then stopped."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from babel.dates import format_date

from tests.fake_telegram import TOKEN, FakeTelegram
from tests.webchat_kit import new_session

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _data(message: dict[str, Any], index: int) -> str:
    return str(message["reply_markup"]["inline_keyboard"][index][0]["callback_data"])


async def test_hotline_serve_talks_telegram_by_polling_and_the_web_chat(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "PUBLIC_BASE_URL"))}
    env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.url, "TELEGRAM_MODE": "polling",
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}",
                "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            for _ in range(1200):  # up to two minutes: it trains the understanding first, on a busy machine
                try:
                    async with http.get(f"{base}/healthz") as res:
                        if res.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if proc.returncode is not None:
                    pytest.fail(f"serve exited: {(await proc.communicate())[1].decode()[-2000:]}")
                await asyncio.sleep(0.1)
            else:
                pytest.fail("serve did not answer /healthz")

            chat = 777001

            async def say(update: dict[str, Any], total: int) -> list[dict[str, Any]]:
                fake.push(update)
                return await fake.wait_sent(total, chat, within=15)

            sent = await say(fake.text_update(chat, "/start", language_code="tg"), 2)
            # the web chat answers from the same process meanwhile
            web_session = await new_session(http, base)
            async with http.post(f"{base}/chat/api/send",
                                 json={"session": web_session, "text": "/start", "lang": "ky"}) as res:
                assert res.status == 200
                assert (await res.json())["replies"][-1]["node"] == "main.menu"
            notice, menu = sent
            assert "/forget" in notice["text"] and menu["text"].startswith("Чӣ ёрӣ диҳам?")
            sent = await say(fake.callback_update(chat, _data(menu, 0)), 3)  # the "Патент" button
            assert sent[-1]["text"].startswith("Патент – иҷозати кор")
            sent = await say(fake.text_update(chat, "4", language_code="tg"), 4)  # next payment date
            sent = await say(fake.text_update(chat, "ӯзбекистон", language_code="tg"), 5)
            assert "Санаи додани патентро нависед" in sent[-1]["text"]
            issued = dt.date.today() - dt.timedelta(days=10)
            sent = await say(fake.text_update(chat, f"{issued:%d.%m.%Y}", language_code="tg"), 6)
            sent = await say(fake.text_update(chat, "1", language_code="tg"), 8)
            answer, helped = sent[-2:]
            if issued.day <= 28:  # one month paid: until the day before the same date next month
                paid_until = issued.replace(month=issued.month % 12 + 1,
                                            year=issued.year + issued.month // 12) - dt.timedelta(days=1)
                assert format_date(paid_until, "d MMMM y", locale="tg") in answer["text"]
            assert helped["text"] == "Ин ба шумо ёрӣ дод?"
            assert fake.of("answerCallbackQuery") and fake.of("deleteWebhook")
            languages = sorted(str(c.params.get("language_code")) for c in fake.of("setMyCommands"))
            assert languages == ["None", "ky", "ru", "tg", "uz"]
            async with http.get(f"{base}/healthz") as res:
                assert res.status == 200
    finally:
        if proc.returncode is None:
            proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), 15)  # waits, and closes the pipes
        await fake.stop()
    assert "Telegram (polling)" in out.decode()
    assert "Traceback" not in err.decode(), err.decode()[-3000:]
    assert TOKEN not in out.decode() + err.decode()  # the token never reaches the logs
