"""End to end: `hotline serve` as a separate process with the Twilio settings, the fake Twilio server as its
TWILIO_API_BASE_URL, webhooks posted to it as Twilio would (signed for PUBLIC_BASE_URL, while the process
listens on 127.0.0.1), and the answers read from the fake server."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from babel.dates import format_date

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, MESSAGES_PATH, PUBLIC_BASE_URL, FakeTwilio, sign

ROOT = Path(__file__).resolve().parent.parent
PHONE = "+998901234567"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def inbound(sid: int, body: str) -> dict[str, str]:
    message_sid = f"SM{'e' * 8}{sid:024d}"
    return {"SmsMessageSid": message_sid, "NumMedia": "0", "ProfileName": "Aziz", "MessageType": "text",
            "SmsSid": message_sid, "WaId": PHONE.lstrip("+"), "SmsStatus": "received", "Body": body, "To": FROM,
            "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": message_sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{PHONE}", "ApiVersion": "2010-04-01"}


def dates() -> tuple[dt.date, dt.date]:
    """A patent issued 10-13 days ago with one month paid, and its last paid day (the serving process
    runs on the real clock)."""
    issued = dt.date.today() - dt.timedelta(days=10)
    issued = issued.replace(day=min(issued.day, 28))
    following = issued.replace(year=issued.year + issued.month // 12, month=issued.month % 12 + 1)
    return issued, following - dt.timedelta(days=1)


async def test_hotline_serve_answers_whatsapp_through_the_fake_twilio(tmp_path: Path) -> None:
    fake = FakeTwilio()
    await fake.start()
    port = free_port()
    database = tmp_path / "e2e.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "REDIS_"))}
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(port), "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": FROM, "TWILIO_API_BASE_URL": fake.url})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    sids = iter(range(1, 100))
    try:
        async with aiohttp.ClientSession() as http:

            async def up() -> None:
                for _ in range(300):
                    if proc.returncode is not None:
                        pytest.fail(f"serve exited: {(await proc.communicate())[1].decode()[-3000:]}")
                    try:
                        async with http.get(f"{base}/healthz") as res:
                            if res.status == 200:
                                return
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
                pytest.fail("serve did not answer /healthz")

            async def post(form: dict[str, str], path: str = "/whatsapp/webhook", signed_url: str = "") -> int:
                headers = {"X-Twilio-Signature": sign(signed_url or PUBLIC_BASE_URL + path, form)}
                async with http.post(base + path, data=form, headers=headers) as res:
                    return res.status

            async def say(body: str, answers: int) -> list[str]:
                """The migrant writes; the hotline's next `answers` messages to them."""
                before = len(fake.sent(PHONE))
                assert await post(inbound(next(sids), body)) == 200
                await fake.wait_sent(before + answers, to=PHONE, within=15)
                return fake.bodies(PHONE)[before:]

            await up()
            notice, menu = await say("Assalomu alaykum", 2)  # +998: Uzbek, guessed from the number
            assert "/forget" in notice
            assert menu.startswith("Qanday yordam beray?") and "\n\n1. Patent\n2. " in menu
            [patent] = await say(" 1 ", 1)
            assert "\n4. " in patent
            [citizenship] = await say("4.", 1)
            assert "\n1. Oʻzbekiston" in citizenship
            [issue_date] = await say("oʻzbekiston", 1)
            assert issue_date.startswith("Patent berilgan sanani yozing.")
            issued, paid_until = dates()
            [months] = await say(f"{issued:%d.%m.%Y}", 1)
            assert "1 dan 12 gacha" in months
            answer, helped = await say("1", 2)
            assert format_date(paid_until, "d MMMM y", locale="uz") in answer
            assert helped.endswith("\n\n1. Ha\n2. Yoʻq")

            # Twilio retries a webhook: acknowledged, not answered again (the next answer comes right after)
            last = inbound(next(sids), "menyu")
            assert await post(last) == 200
            await fake.wait_sent(len(fake.sent(PHONE)) + 1, to=PHONE, within=15)
            count = len(fake.sent(PHONE))
            assert await post(last) == 200
            [menu_again] = await say("/menu", 1)
            assert menu_again == menu and len(fake.sent(PHONE)) == count + 1

            # forged, and signed for the address the process listens on instead of the public one
            forged = inbound(next(sids), "Salom")
            assert await post(forged, signed_url=f"{base}/whatsapp/webhook") == 403
            assert await post({**forged, "Body": "menyu"}) == 200  # properly signed: a message like any other

            # a status callback for the last answer
            sid = fake.sent(PHONE)[-1]["_sid"]
            await fake.wait_sent(len(fake.sent(PHONE)) + 1, to=PHONE, within=15)  # the answer to it
            status = {"MessageSid": sid, "MessageStatus": "read", "AccountSid": ACCOUNT_SID, "From": FROM,
                      "To": f"whatsapp:{PHONE}", "ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01"}
            assert await post(status, "/whatsapp/status") == 200
            assert await post({**status, "MessageStatus": "failed"}, "/whatsapp/status",
                              signed_url=f"{base}/whatsapp/status") == 403
    finally:
        if proc.returncode is None:
            proc.terminate()
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 15)  # waits, and closes the pipes
        await fake.stop()
    out, err = stdout.decode(), stderr.decode()

    assert "WhatsApp" in out, out  # the banner names the channels it serves
    assert "Traceback" not in err, err[-3000:]
    for request in fake.requests:  # every REST call: the fake's address, the account, the hotline's number
        assert request["_path"] == MESSAGES_PATH and request["_authorization"].startswith("Basic ")
        assert request["From"] == FROM and request["To"] == f"whatsapp:{PHONE}"
        assert request["StatusCallback"] == f"{PUBLIC_BASE_URL}/whatsapp/status"
    with sqlite3.connect(database) as conn:
        rows: list[Any] = conn.execute("SELECT status, external_id FROM outbox ORDER BY id").fetchall()
        inbox = conn.execute("SELECT count(*) FROM inbox_event").fetchone()[0]
    conn.close()
    assert [s for s, _ in rows].count("read") == 1 and ("read", sid) in rows
    assert {s for s, _ in rows} <= {"sent", "read"} and len(rows) == len(fake.sent(PHONE))
    assert inbox == 9  # each message once: the retried one and the forged one are not there
