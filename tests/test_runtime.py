"""Start-up: edited flow files take effect on restart unless editors have published in the console since."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.runtime import create_runtime
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


async def _menu_text(settings: Settings) -> tuple[int, str]:
    runtime = await create_runtime(settings)
    try:
        return runtime.flow_version, runtime.flows.node("main.menu").text["ru"]  # type: ignore[index]
    finally:
        await runtime.close()


async def test_edited_files_are_served_after_a_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}", flows_dir=flows)
    assert (await _menu_text(settings))[0] == 1
    main = flows / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("Чем помочь?", "Чем вам помочь?"), encoding="utf-8")
    version, text = await _menu_text(settings)
    assert version == 2 and text.startswith("Чем вам помочь?")
    assert (await _menu_text(settings))[0] == 2  # unchanged files: no new version

    broken = main.read_text(encoding="utf-8").replace("next: patent.menu", "next: patent.menuu")
    main.write_text(broken, encoding="utf-8")
    version, text = await _menu_text(settings)
    assert version == 2 and text.startswith("Чем вам помочь?")  # a broken edit is never served
    assert "fail the checks" in caplog.text


async def test_console_publications_are_not_overwritten_by_files(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}", flows_dir=flows)
    runtime = await create_runtime(settings)
    assert runtime.store is not None
    files = dict((await runtime.store.serving())[0].files or {})
    files["main.yaml"] = files["main.yaml"].replace("Чем помочь?", "Чем помочь (из консоли)?")
    await runtime.store.publish(files, kind="publish", author="editor", note="from the console")
    await runtime.close()
    main = flows / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("Чем помочь?", "Чем помочь (из файла)?"),
                    encoding="utf-8")
    version, text = await _menu_text(settings)
    assert version == 2 and "из консоли" in text
