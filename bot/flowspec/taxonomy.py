"""The topic ids every answer carries (a copy of shared/taxonomy.yaml shipped with the package)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ruamel.yaml import YAML


@cache
def topics() -> dict[str, str]:
    text = resources.files("bot.flowspec").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe", pure=True).load(text)
    return {str(k): str(v) for k, v in data["topics"].items()}
