"""The `hotline` command as a newcomer runs it: flows check/diagram, a scripted terminal chat in four
languages, and `hotline serve` answering /healthz and the web chat."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from babel.dates import format_date

ROOT = Path(__file__).resolve().parent.parent
HOTLINE = [sys.executable, "-m", "bot.cli"]


def run(args: list[str], tmp_path: Path, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}
    return subprocess.run([*HOTLINE, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def test_flows_check_passes_on_the_real_flows(tmp_path: Path) -> None:
    out = run(["flows", "check", "flows"], tmp_path)
    assert out.returncode == 0, out.stderr
    *warnings, last = out.stdout.splitlines()
    assert last.startswith("ok: ")
    # the only warnings are the honest ones about age: facts to check again, sources to renew
    assert all(w.endswith(("check the facts against the sources again", "look for a newer one"))
               for w in warnings), warnings


def test_flows_check_names_file_node_and_suggestion(tmp_path: Path) -> None:
    copy = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", copy)
    path = copy / "patent.yaml"
    text = path.read_text(encoding="utf-8")
    assert "next: ask_months_paid" in text
    path.write_text(text.replace("next: ask_months_paid", "next: ask_month_paid", 1), encoding="utf-8")
    out = run(["flows", "check", str(copy)], tmp_path)
    assert out.returncode == 1
    assert ("patent.yaml > ask_issue_date > next: no node 'ask_month_paid' in flow 'patent'; "
            "did you mean 'ask_months_paid'?") in out.stderr


def test_flows_diagram(tmp_path: Path) -> None:
    out = run(["flows", "diagram", "patent"], tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("flowchart TD")
    assert run(["flows", "diagram", "nosuch"], tmp_path).returncode == 1


# picker number, Babel locale, the country chosen in the patent flow (1 = Uzbekistan)
LANGS = {"uz": ("1", "uz"), "tg": ("3", "tg"), "ky": ("4", "ky"), "ru": ("5", "ru")}


@pytest.mark.parametrize("lang", LANGS)
def test_chat_patent_payment_in_each_language(lang: str, tmp_path: Path) -> None:
    picker, locale = LANGS[lang]
    issued = dt.date.today() - dt.timedelta(days=10)
    paid_until = (issued.replace(month=issued.month % 12 + 1, year=issued.year + issued.month // 12)
                  - dt.timedelta(days=1)) if issued.day <= 28 else None
    script = f"/start\n{picker}\n1\n4\n1\n{issued:%d.%m.%Y}\n1\n"
    out = run(["chat"], tmp_path, stdin=script)
    assert out.returncode == 0, out.stderr
    if paid_until:
        assert format_date(paid_until, "d MMMM y", locale=locale) in out.stdout, out.stdout[-1500:]


@pytest.mark.parametrize("lang", ["ru", "uz", "tg", "ky"])
def test_chat_kyrgyz_citizen_needs_no_patent(lang: str, tmp_path: Path) -> None:
    out = run(["chat", "--lang", lang], tmp_path, stdin="/start\n1\n1\n3\n")
    assert out.returncode == 0, out.stderr
    expected = {"ru": "патент не нужен", "uz": "patent kerak emas", "tg": "патент лозим нест",
                "ky": "патент керек эмес"}[lang]
    assert expected in out.stdout.lower(), out.stdout[-1500:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_healthz_and_web_chat(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}",
           "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port)}
    proc = subprocess.Popen([*HOTLINE, "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        # start-up trains the understanding on every example (seconds; longer on a loaded machine)
        for _ in range(1200):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as res:
                    assert json.load(res)["status"] == "ok"
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"serve exited: {proc.communicate()[1]}")
                time.sleep(0.1)
        else:
            pytest.fail("serve did not answer /healthz")
        with urllib.request.urlopen(urllib.request.Request(f"{base}/chat/api/session", method="POST"),
                                    timeout=5) as res:
            session = json.load(res)["session"]  # issued by the server
        body = json.dumps({"session": session, "text": "/start", "lang": "tg"}).encode()
        req = urllib.request.Request(f"{base}/chat/api/send", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as res:
            data = json.load(res)
        assert data["replies"][-1]["node"] == "main.menu"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # waits, and closes the pipes
