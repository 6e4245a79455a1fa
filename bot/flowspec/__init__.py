"""The flow file format: schema, strict loader, checks and diagram. Pure: no network, no database."""

from bot.flowspec.checks import check, check_dir, load
from bot.flowspec.model import LANGS, Flow, FlowSet, Node, Option, Settings
from bot.flowspec.problems import FlowError, Problem

__all__ = [
    "LANGS", "Flow", "FlowError", "FlowSet", "Node", "Option", "Problem", "Settings", "check",
    "check_dir", "load",
]
