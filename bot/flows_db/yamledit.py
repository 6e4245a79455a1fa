"""Changes to flow files made by the console, in ruamel.yaml's round-trip mode: comments, key order,
quoting, block texts and anchors are kept, and only what an editor changed is written differently.

Every setter returns whether it changed anything, so that saving an untouched form changes no byte.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from bot.core import hygiene
from bot.flowspec.limits import shape_problem, text_problem
from bot.flowspec.model import LANGS

L10N_FIELDS = ("title", "text", "error")
TARGET_FIELDS = ("next", "on_fail", "default", "target")
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class EditError(Exception):
    """A change that cannot be made (e.g. the file is not valid YAML: edit it as text first)."""


def _keep_anchors(value: Any) -> None:
    """Anchors that nothing in the file refers to are dropped by ruamel unless told to keep them."""
    anchor = getattr(value, "anchor", None)
    if anchor is not None and getattr(anchor, "value", None):
        anchor.always_dump = True
    if isinstance(value, dict):
        for item in value.values():
            _keep_anchors(item)
    elif isinstance(value, list):
        for item in value:
            _keep_anchors(item)


KEY_ONLY = re.compile(r"^[^\s#'\"{\[-][^#]*:\s*(#.*)?$")  # "key:" with its value on the next lines


def guess_indent(text: str) -> tuple[int, int, int]:
    """How the file indents (mapping, sequence, offset), in ruamel's terms, from its first nested
    mapping and its first list; (2, 4, 2) for what it does not show. (ruamel's own guess loads the
    whole file a second time.)"""
    mapping = offset = None
    parent: int | None = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if parent is not None and stripped.startswith("- ") and indent >= parent and offset is None:
            offset = indent - parent  # 0: the dashes under their key
        elif parent is not None and indent > parent and mapping is None and not stripped.startswith("- "):
            mapping = indent - parent
        if mapping is not None and offset is not None:
            break
        parent = indent if KEY_ONLY.match(stripped) else None
    mapping = mapping or 2
    offset = 2 if offset is None else offset
    return mapping, offset + 2, offset


class FlowDoc:
    """One flow file opened for editing; dump() gives its text back."""

    def __init__(self, text: str, name: str = ""):
        self.name = name
        self.original = text
        self.yaml = YAML(typ="rt")
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-wrap long texts
        self.yaml.allow_duplicate_keys = False
        mapping, sequence, offset = guess_indent(text)
        self.yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        if (deep := text_problem(text)) is not None:
            raise EditError(f"{name} cannot be edited here: {deep}; correct it in the YAML editor first")
        try:
            self.data = self.yaml.load(text)
        except Exception as exc:
            raise EditError(f"{name} is not valid YAML ({exc}); correct it in the YAML editor first") from exc
        if (problem := shape_problem(self.data)) is not None:
            raise EditError(f"{name} cannot be edited here: {problem}; correct it in the YAML editor first")
        _keep_anchors(self.data)
        if not isinstance(self.data, CommentedMap):
            raise EditError(f"{name} is not a mapping; correct it in the YAML editor first")

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()

    @property
    def flow_id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def nodes(self) -> CommentedMap:
        nodes = self.data.get("nodes")
        if not isinstance(nodes, CommentedMap):
            raise EditError(f"{self.name} has no nodes mapping; correct it in the YAML editor first")
        return nodes

    def node(self, node_id: str) -> CommentedMap:
        node = self.nodes.get(node_id)
        if not isinstance(node, CommentedMap):
            raise EditError(f"no node '{node_id}' in {self.name}")
        return node

    # -- nodes ---------------------------------------------------------------------------------

    def add_node(self, node_id: str, ntype: str, after: str | None, start: str) -> None:
        if not ID_RE.match(node_id):
            raise EditError("a node id is a-z, 0-9 and _, starting with a letter, at most 40 characters")
        if node_id in self.nodes:
            raise EditError(f"there is a node '{node_id}' already")
        keys = list(self.nodes)
        position = keys.index(after) + 1 if after in keys else len(keys)
        self.nodes.insert(position, node_id, skeleton(ntype, start))

    def remove_node(self, node_id: str) -> None:
        self.node(node_id)
        del self.nodes[node_id]

    def move_node(self, node_id: str, delta: int) -> bool:
        keys = list(self.nodes)
        i = keys.index(node_id)
        j = i + delta
        if not 0 <= j < len(keys):
            return False
        value = self.nodes.pop(node_id)
        self.nodes.insert(j, node_id, value)
        return True


def _l10n_map(values: dict[str, str] | None = None) -> CommentedMap:
    m = CommentedMap()
    for lang in LANGS:
        m[lang] = styled(None, (values or {}).get(lang, ""))
    return m


def skeleton(ntype: str, start: str) -> CommentedMap:
    """A new node of `ntype` with its required fields; the empty texts show up as problems to fill in."""
    node = CommentedMap()
    node["type"] = ntype
    if ntype == "menu":
        node["text"] = _l10n_map()
        option = CommentedMap()
        option["label"] = _l10n_map()
        option["next"] = start
        node["options"] = CommentedSeq([option])
    elif ntype == "answer":
        node["topic"] = "out_of_scope"
        node["text"] = _l10n_map()
    elif ntype == "ask":
        node["text"] = _l10n_map()
        node["expect"] = "text"
        node["save_as"] = "answer"
        node["next"] = start
    elif ntype == "handoff":
        node["queue"] = "general"
        node["text"] = _l10n_map()
        node["summary"] = ""
    elif ntype == "goto":
        node["target"] = start
    else:
        raise EditError(f"a {ntype} node is added in the YAML editor")
    return node


# -- values --------------------------------------------------------------------------------------

def clean_text(value: str) -> str:
    """A text as the form sends it, as the loader would read it: \\n line ends, no outer blank lines, and
    nothing a flow file should not hold (bot.core.hygiene: NUL, control characters, lone surrogates)."""
    return hygiene.clean_text(value).strip("\n")


def styled(old: Any, new: str) -> Any:
    """`new` written the way `old` was (block text, quotes); several lines always as a block text."""
    if "\n" in new or isinstance(old, LiteralScalarString | FoldedScalarString):
        return LiteralScalarString(new + "\n")
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(new)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    return new


def _same_text(old: Any, new: str) -> bool:
    return isinstance(old, str) and clean_text(old) == new


def set_text(container: CommentedMap, key: str, value: str) -> bool:
    new = clean_text(value)
    old = container.get(key)
    if _same_text(old, new):
        return False
    container[key] = styled(old, new)
    if "\n" in new and container.fa.flow_style():
        container.fa.set_block_style()  # a block text cannot stand inside {...}
    return True


def set_l10n(node: CommentedMap, field: str, values: dict[str, str]) -> bool:
    """Set the texts of one field in the languages given; a missing field is created only when some
    text is given. A text shared through a YAML anchor changes everywhere it is used."""
    current = node.get(field)
    if not isinstance(current, CommentedMap):
        if current is None and not any(clean_text(v) for v in values.values()):
            return False
        node[field] = _l10n_map({lang: clean_text(v) for lang, v in values.items()})
        return True
    changed = False
    for lang, value in values.items():
        if lang in current or clean_text(value):
            changed |= set_text(current, lang, value)
    return changed


def _cleared_or_same(node: CommentedMap, field: str, value: str | None) -> bool | None:
    """An empty value removes the field: whether that changed anything. A value equal to the
    current one: False. Otherwise None: the caller sets it."""
    if not value:
        if field in node:
            del node[field]
            return True
        return False
    old = node.get(field)
    if old is not None and str(old) == value:
        return False
    return None


def set_scalar(node: CommentedMap, field: str, value: str | None) -> bool:
    """A plain value (topic, queue, a target, ...); empty removes the field."""
    done = _cleared_or_same(node, field, value)
    if done is not None or not value:
        return bool(done)
    old = node.get(field)
    node[field] = styled(old, value) if isinstance(old, str) else value
    return True


def set_date(node: CommentedMap, field: str, value: str) -> bool:
    value = value.strip()
    done = _cleared_or_same(node, field, value)
    if done is not None:
        return done
    try:
        node[field] = dt.date.fromisoformat(value)
    except ValueError:
        node[field] = value  # the check says what is wrong with it
    return True


def set_native_check(node: CommentedMap, lang: str, by: str, on: str) -> bool:
    """Who checked a language's text as a native speaker, and when; both empty removes the check."""
    by, on = " ".join(by.split()), on.strip()
    checks = node.get("native_check")
    current = checks.get(lang) if isinstance(checks, CommentedMap) else None
    if not by and not on:
        if current is None:
            return False
        del checks[lang]
        if not checks:
            del node["native_check"]
        return True
    try:
        day: Any = dt.date.fromisoformat(on)
    except ValueError:
        day = on  # the check says what is wrong with it
    if isinstance(current, dict) and current.get("by") == by and current.get("on") == day:
        return False
    if not isinstance(checks, CommentedMap):
        checks = CommentedMap()
        node["native_check"] = checks
    entry = CommentedMap([("by", by), ("on", day)])
    entry.fa.set_flow_style()
    checks[lang] = entry
    return True


def native_check_of(node: CommentedMap, lang: str) -> tuple[str, str]:
    checks = node.get("native_check")
    current = checks.get(lang) if isinstance(checks, dict) else None
    if not isinstance(current, dict):
        return "", ""
    on = current.get("on")
    return str(current.get("by") or ""), on.isoformat() if isinstance(on, dt.date) else str(on or "")


def set_bool(node: CommentedMap, field: str, value: bool, default: bool) -> bool:
    old = node.get(field, default)
    if old is value:
        return False
    if value == default and field in node:
        del node[field]
    else:
        node[field] = value
    return True


def lines(value: str) -> list[str]:
    return [line.strip() for line in clean_text(value).split("\n") if line.strip()]


def _set_seq(container: CommentedMap, key: str, items: list[str]) -> bool:
    old = container.get(key)
    if isinstance(old, list) and [str(i).strip() for i in old] == items:
        return False
    if not items:
        if key in container:
            del container[key]
            return True
        return False
    if isinstance(old, CommentedSeq):
        del old[:]  # in place: keeps its style ([a, b] or a list of lines) and anchors
        old.extend(items)
    else:
        seq = CommentedSeq(items)
        container[key] = seq
    return True


def set_list(node: CommentedMap, field: str, items: list[str]) -> bool:
    return _set_seq(node, field, items)


def set_examples(node: CommentedMap, per_lang: dict[str, list[str]]) -> bool:
    examples = node.get("examples")
    if not isinstance(examples, CommentedMap):
        if not any(per_lang.values()):
            return False
        examples = CommentedMap()
        node["examples"] = examples
    changed = False
    for lang in LANGS:
        if lang in per_lang:
            changed |= _set_seq(examples, lang, per_lang[lang])
    if not examples:
        del node["examples"]
    return changed


def relative(target: str, flow_id: str) -> str:
    """A target as written in the flow's own file: 'node' in the same flow, 'flow.node' otherwise."""
    flow, _, node = target.partition(".")
    return node if flow == flow_id and node else target


def resolve(target: Any, flow_id: str) -> str:
    text = str(target or "")
    return text if "." in text or not text else f"{flow_id}.{text}"


def set_target(container: CommentedMap, field: str, key: str, flow_id: str) -> bool:
    """Set a target from a choice of "flow.node" keys; unchanged when it names the same node."""
    old = container.get(field)
    if key and resolve(old, flow_id) == key:
        return False
    return set_scalar(container, field, relative(key, flow_id) if key else "")


# -- options -------------------------------------------------------------------------------------

def options(node: CommentedMap) -> CommentedSeq:
    opts = node.get("options")
    if not isinstance(opts, CommentedSeq):
        opts = CommentedSeq()
        node["options"] = opts
    return opts


def add_option(node: CommentedMap, target: str | None) -> None:
    opts = options(node)
    option = CommentedMap()
    option["label"] = _l10n_map()
    if node.get("type") == "ask":
        option["value"] = f"value{len(opts) + 1}"
    else:
        option["next"] = target or ""
    if opts and isinstance(opts[-1], CommentedMap) and opts[-1].fa.flow_style():
        option.fa.set_flow_style()
        option["label"].fa.set_flow_style()
    opts.append(option)


def remove_option(node: CommentedMap, index: int) -> bool:
    opts = options(node)
    if 0 <= index < len(opts):
        del opts[index]
        return True
    return False


def move_option(node: CommentedMap, index: int, delta: int) -> bool:
    opts = options(node)
    j = index + delta
    if 0 <= index < len(opts) and 0 <= j < len(opts):
        opts[index], opts[j] = opts[j], opts[index]
        return True
    return False
