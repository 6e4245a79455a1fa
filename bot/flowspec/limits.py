"""How big a loaded YAML document may be once its aliases are followed, and how deep it may nest.

YAML aliases are references: ~300 bytes of `&a [*b, *b, *b, ...]` load instantly but expand to millions
of values wherever the data is walked (the editor rendered 82 MB of HTML from them and froze the event
loop), and a deeply nested draft broke every editor page. A flow file has a few thousand values and
nests about ten deep, so these limits refuse only what no editor writes.
"""

from __future__ import annotations

import re
from typing import Any

MAX_VALUES = 200_000  # every value counted as often as aliases repeat it
MAX_DEPTH = 40
# Nesting the parser would spend seconds on (it recurses, in pure Python) before giving up: a run of
# openers ("[[[[", "{ {", "- - -") or a line indented past any flow file's depth. Checked on the text
# first, so that such a draft is refused at once.
_DEEP_TEXT = re.compile(rf"(?:[\[{{]\s*){{{MAX_DEPTH + 1},}}|(?:-[ \t]+){{{MAX_DEPTH + 1},}}"
                        rf"|^[ \t]{{{8 * MAX_DEPTH},}}\S", re.MULTILINE)


def text_problem(text: str) -> str | None:
    """Why a YAML text nests too deeply to be parsed at all, or None."""
    return f"it nests deeper than {MAX_DEPTH} levels" if _DEEP_TEXT.search(text) else None


def _children(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set):
        return list(value)
    return None


def shape_problem(data: Any) -> str | None:
    """Why `data` (as loaded, aliases being shared objects) is too big or too deep, or None. Iterative and
    linear in the number of distinct objects: each container is measured once and reused where an alias
    repeats it."""
    size: dict[int, int] = {}  # id(container) -> values it expands to
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        value, done = stack.pop()
        children = _children(value)
        if children is None:
            continue
        key = id(value)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            height[key] = 1 + max((height.get(id(c), 0) for c in children), default=0)
            if size[key] > MAX_VALUES:
                return f"its aliases expand to more than {MAX_VALUES:,} values"
            if height[key] > MAX_DEPTH:
                return f"it nests deeper than {MAX_DEPTH} levels"
            continue
        if key in size:
            continue
        if key in on_path:
            return "an alias refers to a value that contains it"
        if len(on_path) >= MAX_DEPTH:
            return f"it nests deeper than {MAX_DEPTH} levels"
        on_path.add(key)
        stack.append((value, True))
        stack.extend((c, False) for c in children if _children(c) is not None and id(c) not in size)
    return None
