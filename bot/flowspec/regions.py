"""The regions a `region` variable takes: the ids of the 89 federal subjects (bot/flowspec/regions.yaml,
shipped with the package like the taxonomy, with the names people type for them), plus `other`, the
"another region" stored by the old choice list."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

REGIONS_FILE = "regions.yaml"
OTHER = "other"


@functools.cache
def region_data() -> dict[str, Any]:
    text = resources.files("bot.flowspec").joinpath(REGIONS_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return data


def region_ids() -> tuple[str, ...]:
    return (*(str(r) for r in region_data().get("regions") or {}), OTHER)
