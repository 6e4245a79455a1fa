"""`hotline serve` as a subprocess on a free port, for the browser and the multi-process tests.

It runs in a scratch directory (so a developer's .env is not read) with only the settings given here:
no Telegram, no WhatsApp, no Redis unless asked. Its output goes to files (a full pipe would stall it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
OURS = ("DATABASE_URL", "REDIS_URL", "HTTP_", "TELEGRAM_", "TWILIO_", "OFFICE_", "SLA_", "INACTIVITY_",
        "CONSOLE_", "FLOWS_DIR", "TRANSLATIONS_DIR", "PUBLIC_BASE_URL", "LOG_LEVEL")
FIRST_ADMIN = re.compile(r"first console account created: login 'admin', password '([^']+)'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    return {**env, "CONSOLE_SECRET_KEY": "serve-tests-secret-key-0123456789abcdef", "OFFICE_HOURS": "always",
            "LOG_LEVEL": "WARNING", **settings}


def hotline(args: list[str], cwd: Path, stdin: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=environment(**settings), timeout=60)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base: str
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def errors(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")[-3000:]

    async def admin_password(self, within: float = 10) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if found := FIRST_ADMIN.search(self.output()):
                return found.group(1)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no first-admin line in the output:\n{self.output()}\n{self.errors()}")


def _start(workdir: Path, name: str, settings: dict[str, str]) -> Served:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    env = environment(HTTP_HOST="127.0.0.1", HTTP_PORT=str(port), **settings)
    with out.open("wb") as stdout, err.open("wb") as stderr:  # the child keeps its own copies
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=workdir, env=env,
                                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    return Served(proc, f"http://127.0.0.1:{port}", out, err)


@contextlib.asynccontextmanager
async def serve(workdir: Path, name: str = "serve", **settings: str) -> AsyncIterator[Served]:
    """Start `hotline serve`, wait until /healthz answers, and stop it (and close its files) after."""
    served = _start(workdir, name, settings)
    proc = served.proc
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 180  # building the classifier takes long on a busy machine
            while True:
                try:
                    async with http.get(f"{served.base}/healthz", timeout=aiohttp.ClientTimeout(total=1)) as res:
                        if res.status == 200:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"hotline serve did not start (exit {proc.poll()}):\n{served.errors()}")
                await asyncio.sleep(0.1)
        yield served
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 10)
