"""Publishing without HTTP: an editor's draft (merged, refused with reasons), a rollback, an import; each
a new version, announced to the processes' reloaders."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import EventBus
from bot.flows_db.publisher import FlowPublisher, Refused, Unchanged
from bot.flows_db.store import EVENT, FlowStore, read_dir
from tests.handoff_kit import add_staff

SMALL = Path(__file__).resolve().parent / "data" / "flows"


async def _setup(db: AsyncEngine) -> tuple[FlowStore, FlowPublisher, EventBus, dict[str, str]]:
    store = FlowStore(db)
    await store.ensure_initial(SMALL)
    events = EventBus()
    files, _ = read_dir(SMALL)
    return store, FlowPublisher(store, events=events), events, files


async def test_a_draft_is_published_merged_and_then_gone(db: AsyncEngine) -> None:
    store, publisher, _, files = await _setup(db)
    ana = await add_staff(db, "ana", roles=("editor",))
    bob = await add_staff(db, "bob", roles=("editor",))
    with pytest.raises(Refused, match="You have no draft"):
        await publisher.publish_draft(ana.id, ana.login, "why")
    mine = {**files, "patent.yaml": files["patent.yaml"] + "\n# ana's change\n"}
    await store.save_draft(ana.id, 1, mine)
    with pytest.raises(Refused, match="write a short note"):
        await publisher.publish_draft(ana.id, ana.login, "")
    # Bob publishes another file meanwhile: Ana's publish keeps his change.
    theirs = {**files, "_settings.yaml": files["_settings.yaml"] + "\n# bob's change\n"}
    await store.save_draft(bob.id, 1, theirs)
    assert (await publisher.publish_draft(bob.id, bob.login, "bob")).number == 2
    version = await publisher.publish_draft(ana.id, ana.login, "ana")
    assert version.number == 3 and version.based_on == 2 and version.kind == "publish"
    assert version.files is not None
    assert version.files["patent.yaml"].endswith("# ana's change\n")
    assert version.files["_settings.yaml"].endswith("# bob's change\n")
    assert await store.draft(ana.id) is None


async def test_a_conflict_or_an_error_refuses_the_draft(db: AsyncEngine) -> None:
    store, publisher, _, files = await _setup(db)
    ana = await add_staff(db, "ana", roles=("editor",))
    bob = await add_staff(db, "bob", roles=("editor",))
    await store.save_draft(ana.id, 1, {**files, "patent.yaml": files["patent.yaml"] + "\n# ana\n"})
    await store.save_draft(bob.id, 1, {**files, "patent.yaml": files["patent.yaml"] + "\n# bob\n"})
    await publisher.publish_draft(bob.id, bob.login, "bob")
    with pytest.raises(Refused, match=r"patent\.yaml changed in version 2 since your draft began"):
        await publisher.publish_draft(ana.id, ana.login, "ana")
    assert (await publisher.publish_draft(ana.id, ana.login, "ana", overwrite=True)).number == 3
    broken = {**files, "patent.yaml": files["patent.yaml"].replace("next: ask_months", "next: ask_month")}
    await store.save_draft(ana.id, 3, broken)
    with pytest.raises(Refused, match=r"Not published: 1 error\(s\) remain"):
        await publisher.publish_draft(ana.id, ana.login, "broken")
    assert await store.latest_number() == 3


async def test_rollback_and_import_are_new_versions(db: AsyncEngine) -> None:
    store, publisher, events, files = await _setup(db)
    changed = {**files, "patent.yaml": files["patent.yaml"] + "\n# imported\n"}
    with pytest.raises(Unchanged, match="version 1 is already these files"):
        await publisher.import_files(files, "cli", "same", {})
    async with events.subscribe() as heard:
        assert (await publisher.import_files(changed, "cli", "new", {"directory": "x"})).number == 2
        assert heard.get_nowait() == {"type": EVENT, "version": 2}
    with pytest.raises(Refused, match="Version 2 is what is published already"):
        await publisher.rollback(2, None, "ed")
    with pytest.raises(LookupError):
        await publisher.rollback(9, None, "ed")
    back = await publisher.rollback(1, None, "ed", "oops")
    assert (back.number, back.kind, back.note, back.files) == (3, "rollback", "rollback to version 1: oops", files)
    assert [v.number for v in await store.history()] == [3, 2, 1]
