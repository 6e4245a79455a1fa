"""Versions that take effect at a given time: checked like any publish now, switched to by every running
process at its first look after the time (an injected clock here, no one at the keyboard), refused for a
time that has passed, cancelled before their time; a later immediate publish is served until then and
does not remove the scheduled one."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.engine import Engine
from bot.flows_db.publisher import FlowPublisher, Refused
from bot.flows_db.reload import FlowReloader
from bot.flows_db.store import CANCELLED, FlowStore, read_dir
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage import transaction
from bot.storage.db import create_engine
from tests.handoff_kit import add_staff
from tests.serve_kit import hotline

SMALL = Path(__file__).resolve().parent / "data" / "flows"
MSK = dt.timezone(dt.timedelta(hours=3), "MSK")


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _spelled(words: str) -> str:
    """Digits written out: a number in the Russian text only would fail the numbers check."""
    for digit, word in zip("0123456789", ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь",
                                           "восемь", "девять"), strict=True):
        words = words.replace(digit, f" {word}")
    return words


def _worded(files: dict[str, str], words: str) -> dict[str, str]:
    return {**files, "patent.yaml": files["patent.yaml"].replace("Патент не нужен", _spelled(words))}


def _said(service: ConversationService) -> str | None:
    text = service.engine.flows.node("patent.no_patent").text
    return text["ru"] if text else None


async def _wait_for(reloader: FlowReloader, number: int) -> None:
    for _ in range(200):
        if reloader.current == number:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still serving version {reloader.current}, not {number}")


async def test_a_scheduled_version_switches_at_its_time_in_a_running_process(db: AsyncEngine,
                                                                             catalogs: Catalogs) -> None:
    clock = Clock(dt.datetime(2026, 12, 20, 12, 0, tzinfo=dt.UTC))
    store = FlowStore(db, clock=clock)
    await store.ensure_initial(SMALL)
    files, _ = read_dir(SMALL)
    _, flowset = await store.serving()
    service = ConversationService(db, Engine(flowset, catalogs))
    reloader = FlowReloader(store, service, catalogs, current=1, interval=0.05)
    publisher = FlowPublisher(store, reloader=reloader)
    midnight = dt.datetime(2027, 1, 1, 0, 0, tzinfo=MSK)
    task = asyncio.create_task(reloader.run())
    try:
        scheduled = await publisher.import_files(_worded(files, "Патент 2027"), "ed", "2027 prices", {}, at=midnight)
        assert (scheduled.number, scheduled.status, scheduled.effective_at) == (2, "scheduled", midnight)
        # Before its time an immediate fix is published; it is served, and the scheduled version stays.
        fix = await publisher.import_files(_worded(files, "Патент 2026"), "ed", "a fix", {})
        await _wait_for(reloader, 3)
        assert _said(service) == _spelled("Патент 2026") and fix.number == 3
        assert [v.number for v in await store.scheduled()] == [2]
        clock.now = midnight - dt.timedelta(seconds=1)
        await asyncio.sleep(0.2)
        assert reloader.current == 3 and await store.serving_number() == 3
        clock.now = midnight  # nobody publishes anything: the next look switches
        await _wait_for(reloader, 2)
        assert _said(service) == _spelled("Патент 2027") and await store.scheduled() == []
        assert (await store.latest()) is not None and (await store.serving())[0].number == 2
        # A rollback after the switch is an immediate version again, served from then on.
        clock.now = midnight + dt.timedelta(hours=1)
        back = await publisher.rollback(3, None, "ed", "2027 texts not ready")
        await _wait_for(reloader, back.number)
        assert _said(service) == _spelled("Патент 2026")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_past_time_or_a_failing_set_is_refused(db: AsyncEngine) -> None:
    clock = Clock(dt.datetime(2026, 12, 20, 12, 0, tzinfo=dt.UTC))
    store = FlowStore(db, clock=clock)
    await store.ensure_initial(SMALL)
    publisher = FlowPublisher(store)
    files, _ = read_dir(SMALL)
    ana = await add_staff(db, "ana", roles=("editor",))
    await store.save_draft(ana.id, 1, _worded(files, "Патент 2027"))
    with pytest.raises(Refused, match=r"Not scheduled: 2026-12-20 14:59 \(MSK\) has passed"):
        await publisher.publish_draft(ana.id, ana.login, "2027", at=dt.datetime(2026, 12, 20, 14, 59, tzinfo=MSK))
    broken = {**files, "patent.yaml": files["patent.yaml"].replace("next: ask_months", "next: ask_month")}
    await store.save_draft(ana.id, 1, broken)
    with pytest.raises(Refused, match=r"Not published: 1 error\(s\) remain"):
        await publisher.publish_draft(ana.id, ana.login, "2027", at=dt.datetime(2027, 1, 1, tzinfo=MSK))
    assert await store.latest_number() == 1 and await store.scheduled() == []
    await store.save_draft(ana.id, 1, _worded(files, "Патент 2027"))
    version = await publisher.publish_draft(ana.id, ana.login, "2027", at=dt.datetime(2027, 1, 1, tzinfo=MSK))
    assert version.number == 2 and await store.draft(ana.id) is None and await store.serving_number() == 1


async def test_a_scheduled_version_can_be_cancelled_before_its_time(db: AsyncEngine) -> None:
    clock = Clock(dt.datetime(2026, 12, 20, 12, 0, tzinfo=dt.UTC))
    store = FlowStore(db, clock=clock)
    await store.ensure_initial(SMALL)
    publisher = FlowPublisher(store)
    files, _ = read_dir(SMALL)
    midnight = dt.datetime(2027, 1, 1, tzinfo=MSK)
    await publisher.import_files(_worded(files, "Патент 2027"), "ed", "2027", {}, at=midnight)
    later = await publisher.import_files(_worded(files, "Патент 2028"), "ed", "2028", {},
                                         at=dt.datetime(2028, 1, 1, tzinfo=MSK))
    assert [v.number for v in await store.scheduled()] == [2, 3]
    await publisher.cancel(2, None, "ed")
    with pytest.raises(Refused, match="Version 2 is not waiting for its time"):
        await publisher.cancel(2, None, "ed")
    with pytest.raises(Refused, match="Version 1 is not waiting"):
        await publisher.cancel(1, None, "ed")
    assert [v.number for v in await store.scheduled()] == [later.number]
    clock.now = midnight + dt.timedelta(days=1)
    assert await store.serving_number() == 1  # the cancelled one never takes effect
    assert [(v.number, v.status) for v in await store.history()][:2] == [(3, "scheduled"), (2, CANCELLED)]
    clock.now = dt.datetime(2028, 1, 1, tzinfo=MSK)
    assert await store.serving_number() == 3
    with pytest.raises(Refused, match="Version 3 is not waiting"):
        await publisher.cancel(3, None, "ed")  # its time has come: a rollback undoes it now
    audit = [r for r in await store.audit_log() if r.action == "flows.cancel"]
    assert len(audit) == 1


async def test_the_command_line_schedules_lists_checks_and_cancels(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    source = tmp_path / "source"
    shutil.copytree(SMALL, source)

    def run(*args: str) -> tuple[int, str, str]:
        out = hotline(["flows", *args], tmp_path, DATABASE_URL=url, OFFICE_TIMEZONE="Europe/Moscow")
        return out.returncode, out.stdout, out.stderr

    assert run("import", str(source))[0] == 0
    (source / "patent.yaml").write_text(_worded(read_dir(SMALL)[0], "Патент 2099")["patent.yaml"], encoding="utf-8")
    code, _, err = await asyncio.to_thread(run, "import", str(source), "--at", "2020-01-01 00:00")
    assert code == 1 and "Not scheduled: 2020-01-01 00:00 (MSK) has passed" in err
    code, out, _ = await asyncio.to_thread(run, "import", str(source), "--at", "2099-01-01 00:00", "--note", "2099")
    assert code == 0 and out.startswith("scheduled as version 2: ") and "at 2099-01-01 00:00 (Europe/Moscow)" in out
    code, out, _ = await asyncio.to_thread(run, "scheduled")
    assert code == 0 and out.startswith("version 2: takes effect 2099-01-01 00:00 (Europe/Moscow)")
    assert out.rstrip().endswith("· 2099 · checks pass")
    # A scheduled version that fails today's checks (written past the publisher) fails `check --scheduled`.
    db = create_engine(url)
    try:
        store = FlowStore(db)
        broken = {**read_dir(SMALL)[0]}
        broken["patent.yaml"] = broken["patent.yaml"].replace("next: ask_months", "next: ask_month")
        async with transaction(db) as tx:
            await store._insert(tx, broken, kind="import", author="test", author_id=None, note="unchecked",
                                based_on=None, audit=None, number=None,
                                effective_at=dt.datetime(2098, 1, 1, tzinfo=dt.UTC))
    finally:
        await db.dispose()
    code, out, err = await asyncio.to_thread(run, "check", str(SMALL), "--scheduled")
    assert code == 1 and "version 3: takes effect 2098-01-01 03:00 (Europe/Moscow) · test · unchecked · 1 problem(s)" \
        in out and "patent.yaml > ask_issue > next: no node 'ask_month'" in err
    assert (await asyncio.to_thread(run, "cancel", "3"))[0] == 0
    code, out, _ = await asyncio.to_thread(run, "check", str(SMALL), "--scheduled")
    assert code == 0 and "version 2: takes effect" in out and "version 3" not in out
    code, _, err = await asyncio.to_thread(run, "cancel", "3")
    assert code == 1 and "Version 3 is not waiting for its time" in err
