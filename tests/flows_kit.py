"""Flow sets for the flow-format tests: the small valid set in tests/data/flows, copied with one change."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data" / "flows"


def changed_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the small flow set in `tmp_path/flows` with the first `old` in `file` replaced by `new`."""
    target = tmp_path / "flows"
    shutil.copytree(DATA, target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the test's anchor {old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target
