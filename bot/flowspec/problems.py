"""Located problems in flow files: `file > node > field: message`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    node: str | None
    field: str | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        parts = [self.file] + [p for p in (self.node, self.field) if p]
        prefix = "warning: " if self.warning else ""
        return f"{prefix}{' > '.join(parts)}: {self.message}"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class FlowError(Exception):
    """A flow set that cannot be served; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
