"""Flow versions in the database: `hotline flows import/export` round-trip byte for byte, an invalid set
is refused with located messages, the first start imports once, every process switches to a newly published
version (on its own look or at once on an event) and never to one that fails the checks; round-trip YAML
edits change only what was edited."""

from __future__ import annotations

import asyncio
import difflib
import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.engine import Engine
from bot.events import EventBus
from bot.flows_db.reload import EngineCache, FlowReloader
from bot.flows_db.store import EVENT, FlowStore, read_dir, validate
from bot.flows_db.yamledit import FlowDoc, set_l10n
from bot.i18n import Catalogs
from bot.service import ConversationService
from tests.serve_kit import hotline

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
SMALL = ROOT / "tests" / "data" / "flows"


def test_import_then_export_gives_the_same_bytes(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'flows.sqlite3'}"
    # One file with Windows line ends, a tab and a trailing space: bytes, not just YAML, come back.
    source = tmp_path / "source"
    shutil.copytree(FLOWS, source)
    odd = (source / "language.yaml").read_bytes().replace(b"\n", b"\r\n")
    odd = odd.replace(b"format: 1", b"format: 1  #\ttab and trailing space ")
    (source / "language.yaml").write_bytes(odd)
    out = hotline(["flows", "import", str(source), "--note", "the files of the checkout"], tmp_path, DATABASE_URL=db)
    assert out.returncode == 0, out.stderr
    files = len(list(source.glob("*.yaml")))  # the flows and _settings.yaml
    assert out.stdout.startswith(f"published as version 1: {files} files")
    again = hotline(["flows", "import", str(source)], tmp_path, DATABASE_URL=db)
    assert again.returncode == 0 and "version 1 is already these files; nothing to import" in again.stdout
    target = tmp_path / "exported"
    target.mkdir()
    (target / "stale.yaml").write_text("format: 1\n", encoding="utf-8")  # not in the version: removed
    (target / "notes.txt").write_text("kept", encoding="utf-8")  # not a flow file: left alone
    out = hotline(["flows", "export", str(target)], tmp_path, DATABASE_URL=db)
    assert out.returncode == 0, out.stderr
    assert f"version 1 (published): {files} files written" in out.stdout and "removed stale.yaml" in out.stdout
    expected = sorted(p.name for p in source.glob("*.yaml"))
    assert sorted(p.name for p in target.glob("*.y*ml")) == expected
    for name in expected:
        assert (target / name).read_bytes() == (source / name).read_bytes(), name
    assert (target / "notes.txt").read_text(encoding="utf-8") == "kept"
    # The plain checkout's files too, as a second version, and an earlier version by number.
    out = hotline(["flows", "import", str(FLOWS)], tmp_path, DATABASE_URL=db)
    assert out.returncode == 0 and "published as version 2" in out.stdout
    for number, origin in ((None, FLOWS), (1, source)):
        target = tmp_path / f"export-{number}"
        out = hotline(["flows", "export", str(target), *(["--version", str(number)] if number else [])], tmp_path,
                      DATABASE_URL=db)
        assert out.returncode == 0, out.stderr
        for path in origin.glob("*.yaml"):
            assert (target / path.name).read_bytes() == path.read_bytes(), (number, path.name)


def test_import_refuses_an_invalid_set_with_located_messages(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'flows.sqlite3'}"
    broken = tmp_path / "broken"
    shutil.copytree(FLOWS, broken)
    path = broken / "patent.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("next: ask_months_paid", "next: ask_month_paid", 1),
                    encoding="utf-8")
    out = hotline(["flows", "import", str(broken)], tmp_path, DATABASE_URL=db)
    assert out.returncode == 1
    assert ("patent.yaml > ask_issue_date > next: no node 'ask_month_paid' in flow 'patent'; "
            "did you mean 'ask_months_paid'?") in out.stderr
    assert "nothing was imported" in out.stderr
    out = hotline(["flows", "export", str(tmp_path / "out")], tmp_path, DATABASE_URL=db)
    assert out.returncode == 1 and "no flow version in the database yet" in out.stderr


async def test_first_start_imports_once_and_serves_the_newest_good_version(db: AsyncEngine,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    store = FlowStore(db)
    results = await asyncio.gather(*(store.ensure_initial(SMALL) for _ in range(3)))
    assert sum(1 for r in results if r is not None) == 1
    assert [(v.number, v.kind, v.status) for v in await store.history()] == [(1, "initial", "published")]
    assert await store.ensure_initial(SMALL) is None
    # A version that fails the checks (written around publish(), as a bad upgrade of the checks would
    # make an old one) is skipped when the service starts.
    await _publish_unchecked(store, broken_small())
    with caplog.at_level(logging.ERROR, logger="bot.flows_db.store"):
        version, flowset = await store.serving()
    assert version.number == 1 and "patent" in flowset.flows
    assert "flow version 2 fails the checks and is not served" in caplog.text


def broken_small() -> dict[str, str]:
    files, _ = read_dir(SMALL)
    files["patent.yaml"] = files["patent.yaml"].replace("next: ask_months", "next: ask_month")
    return files


async def _publish_unchecked(store: FlowStore, files: dict[str, str]) -> None:
    from bot.storage import transaction

    async with transaction(store.db) as tx:
        await store._insert(tx, files, kind="import", author="test", author_id=None, note="unchecked",
                            based_on=None, audit=None, number=None)


async def test_publish_refuses_a_failing_set(db: AsyncEngine) -> None:
    from bot.flowspec import FlowError

    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    with pytest.raises(FlowError) as caught:
        await store.publish(broken_small(), kind="publish", author="ed", note="x")
    assert "patent.yaml > ask_issue > next: no node 'ask_month' in flow 'patent'" in str(caught.value)
    assert await store.latest_number() == 1


async def test_the_reloader_switches_and_never_to_a_failing_version(db: AsyncEngine, catalogs: Catalogs,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    _, flowset = await store.serving()
    service = ConversationService(db, Engine(flowset, catalogs))
    served: list[int] = []
    reloader = FlowReloader(store, service, catalogs, current=1, on_switch=lambda n, _: served.append(n))
    assert await reloader.check() is False  # nothing newer
    await _publish_unchecked(store, broken_small())
    engine = service.engine
    with caplog.at_level(logging.ERROR, logger="bot.flows_db.reload"):
        assert await reloader.check() is False
        assert await reloader.check() is False
    assert service.engine is engine and reloader.current == 1 and served == []
    assert caplog.text.count("flow version 2 fails the checks; still serving version 1") == 1  # said once
    assert "patent.yaml > ask_issue > next: no node 'ask_month'" in caplog.text
    files, _ = read_dir(SMALL)
    files["patent.yaml"] = files["patent.yaml"].replace("Патент не нужен", "Патент не нужен (версия три)")
    await store.publish(files, kind="publish", author="ed", note="wording")
    assert await reloader.check() is True
    assert served == [3] and service.engine is not engine
    assert service.engine.flows.node("patent.no_patent").text == {
        "ru": "Патент не нужен (версия три)", "uz": "Patent kerak emas", "tg": "Патент лозим нест",
        "ky": "Патент керек эмес"}


async def test_an_event_switches_at_once(db: AsyncEngine, catalogs: Catalogs) -> None:
    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    _, flowset = await store.serving()
    service = ConversationService(db, Engine(flowset, catalogs))
    reloader = FlowReloader(store, service, catalogs, current=1, interval=3600)  # its own look: not in this test
    events = EventBus()
    task = asyncio.create_task(reloader.run(events))
    try:
        await asyncio.sleep(0.05)
        files, _ = read_dir(SMALL)
        files["main.yaml"] = files["main.yaml"].replace("Главное меню", "Главное меню!")
        await store.publish(files, kind="publish", author="ed", note="x")
        await events.publish({"type": "message", "conversation_id": 1})  # other events don't count
        await asyncio.sleep(0.2)
        assert reloader.current == 1
        await events.publish({"type": EVENT, "version": 2})
        for _ in range(100):
            if reloader.current == 2:
                break
            await asyncio.sleep(0.02)
        assert reloader.current == 2 and service.engine.flows.node("main.menu").text is not None
        assert service.engine.flows.node("main.menu").text["ru"] == "Главное меню!"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_newest_version_reached_by_a_look_every_few_seconds(db: AsyncEngine, catalogs: Catalogs) -> None:
    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    _, flowset = await store.serving()
    service = ConversationService(db, Engine(flowset, catalogs))
    cache = EngineCache(catalogs)
    reloader = FlowReloader(store, service, catalogs, current=1, interval=0.05, engines=cache)
    task = asyncio.create_task(reloader.run())
    try:
        files, _ = read_dir(SMALL)
        v1 = dict(files)
        files["main.yaml"] = files["main.yaml"].replace("Главное меню", "Меню")
        await store.publish(files, kind="publish", author="ed", note="x")
        for _ in range(100):
            if reloader.current == 2:
                break
            await asyncio.sleep(0.02)
        assert reloader.current == 2
        engine_v2 = service.engine
        await store.publish(v1, kind="rollback", author="ed", note="back")
        for _ in range(100):
            if reloader.current == 3:
                break
            await asyncio.sleep(0.02)
        assert reloader.current == 3 and service.engine is not engine_v2
        assert await cache.get(files, validate(files)[0]) is engine_v2  # kept for a rollback
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_round_trip_edits_change_only_what_was_edited() -> None:
    files, _ = read_dir(FLOWS)
    for name, text in files.items():
        assert FlowDoc(text, name).dump() == text, name  # untouched: the same bytes (comments, anchors, quotes)
    doc = FlowDoc(files["patent.yaml"], "patent.yaml")
    node = doc.node("next_pay_ok")
    tg = str(node["text"]["tg"]).rstrip("\n")
    assert "{pay_by}" in tg
    assert set_l10n(node, "text", {"ru": str(node["text"]["ru"]), "tg": tg.replace("Ҳисоб", "Ҳисоби нав")}) is True
    assert set_l10n(node, "text", {"tg": tg.replace("Ҳисоб", "Ҳисоби нав")}) is False  # the same again: no change
    after = doc.dump()
    changed = [line for line in difflib.unified_diff(files["patent.yaml"].splitlines(), after.splitlines(),
                                                     lineterm="", n=0) if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == ["-        Ҳисоб аз рӯи маълумоти шумо:", "+        Ҳисоби нав аз рӯи маълумоти шумо:"]
    # A text shared through an anchor is one text: changed once, it changes everywhere it is used.
    doc = FlowDoc(files["patent.yaml"], "patent.yaml")
    set_l10n(doc.node("ask_cit_docs"), "text", {"ky": "Кайсы өлкөнүн жаранысыз?"})
    flowset, problems = validate({**files, "patent.yaml": doc.dump()})
    assert not [p for p in problems if not p.warning]
    assert flowset.node("patent.ask_cit_apply").text == flowset.node("patent.ask_cit_docs").text
    assert flowset.node("patent.ask_cit_apply").text is not None
    assert flowset.node("patent.ask_cit_apply").text["ky"] == "Кайсы өлкөнүн жаранысыз?"
    assert "text: &cit_text" in doc.dump() and doc.dump().count("text: *cit_text") == 5


async def test_through_redis_every_process_switches_at_once(db: AsyncEngine, catalogs: Catalogs) -> None:
    """Two processes' buses on one Redis: the publishing process's event reaches both reloaders."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    _, flowset = await store.serving()
    buses = [EventBus("redis://127.0.0.1:6379/15"), EventBus("redis://127.0.0.1:6379/15")]
    services = [ConversationService(db, Engine(flowset, catalogs)) for _ in buses]
    reloaders = [FlowReloader(store, s, catalogs, current=1, interval=3600) for s in services]
    tasks = []
    try:
        for bus, reloader in zip(buses, reloaders, strict=True):
            await bus.start()
            tasks.append(asyncio.create_task(reloader.run(bus)))
        await asyncio.sleep(0.2)  # subscribed
        files, _ = read_dir(SMALL)
        files["main.yaml"] = files["main.yaml"].replace("Главное меню", "Главное меню (Redis)")
        version = await store.publish(files, kind="publish", author="ed", note="x")
        await buses[0].publish({"type": EVENT, "version": version.number})
        for _ in range(150):
            if all(r.current == version.number for r in reloaders):
                break
            await asyncio.sleep(0.02)
        assert [r.current for r in reloaders] == [version.number] * 2
        expected = {"ru": "Главное меню (Redis)", "uz": "Bosh menyu", "tg": "Менюи асосӣ", "ky": "Башкы меню"}
        assert all(s.engine.flows.node("main.menu").text == expected for s in services)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bus in buses:
            await bus.close()


async def test_an_import_reaches_a_running_hotline_through_redis_at_once(tmp_path: Path) -> None:
    """`hotline flows import` tells the hotlines on the same database (its Redis channel), so a process
    that would look again only in an hour switches at once."""
    import socket
    import time

    import aiohttp

    from tests.serve_kit import serve

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    db = f"sqlite+aiosqlite:///{tmp_path / 'redis.sqlite3'}"
    settings = {"DATABASE_URL": db, "REDIS_URL": "redis://127.0.0.1:6379/15", "FLOWS_DIR": str(SMALL),
                "FLOWS_RELOAD_SECONDS": "3600"}
    async with serve(tmp_path, **settings) as server, aiohttp.ClientSession() as http:
        changed = tmp_path / "changed"
        shutil.copytree(SMALL, changed)
        path = changed / "main.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("Главное меню", "Меню"), encoding="utf-8")
        out = await asyncio.to_thread(hotline, ["flows", "import", str(changed)], tmp_path, **settings)
        assert out.returncode == 0 and "published as version 2" in out.stdout, out.stderr
        started = time.monotonic()
        while True:
            async with http.get(f"{server.base}/healthz") as res:
                if (await res.json())["flow_version"] == 2:
                    break
            assert time.monotonic() - started < 5, server.errors()
            await asyncio.sleep(0.05)
