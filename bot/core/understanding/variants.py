"""Answers that depend on the person: which answer nodes are variants of one question for a citizenship
or a region, derived from the flows themselves (no extra field in the flow files).

A flow asks for a contact variable once (an `ask` with `scope: contact` and choices, e.g. `citizenship`,
`region`) and then branches on it with a `switch`. Following every edge from the roots of the flows,
each node gets, per such variable, the set of values under which it can be reached: `deadline_uz` only
for `citizenship: uz`, `cost_spb` only for `region: spb` (and not for `kg`, whose patent branch says that
no patent is needed), `apply_steps` for every citizenship but `kg`. A node reachable under every value
does not depend on the variable.

`resolve(node, known)` then turns the answer a typed question matched into the answer for this person:
- every value it depends on is known and allowed: the node itself;
- a known value is not allowed (a Kyrgyz citizen matched `renewal_extend`): the node the nearest switch
  on that variable leads to for the person's value (`renewal_kg`), followed through steps already
  decided (a known contact question, a switch on a known value, a goto);
- a value is unknown: the `ask` that saves it (the one just before the nearest switch), and the node is
  remembered, so that it is resolved again once the person has answered.

`question(node)` names the question a node answers: the tuple of what it resolves to under every
combination of the values it depends on. `deadline_uz`, `deadline_tj`, `deadline_kg` and
`deadline_other` are one question; `renewal_extend` and `renewal_reissue` stay two.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from bot.flowspec.model import FlowSet, Node

MAX_FOLLOW = 20  # steps followed from a switch branch to the node it leads to


@dataclass(frozen=True)
class Resolution:
    node: str  # the answer (or menu) to enter, or the ask to enter first when `asks` is set
    asks: str | None = None  # the contact variable that has to be asked for first
    want: str | None = None  # with `asks`: the node to resolve again once it is answered


class Variants:
    def __init__(self, flows: FlowSet):
        self.flows = flows
        asks = [n for n in flows.nodes() if n.type == "ask" and n.scope == "contact" and n.save_as
                and n.save_as != "language" and any(o.value is not None for o in n.options)]
        # the contact variables with choices, and their values (plus the switches' own case names)
        self.domains: dict[str, tuple[str, ...]] = {}
        for ask in asks:
            values = [o.value for o in ask.options if o.value is not None]
            known = list(self.domains.get(ask.save_as or "", ()))
            self.domains[ask.save_as or ""] = tuple(dict.fromkeys(known + values))
        switches = [n for n in flows.nodes() if n.type == "switch" and n.on in self.domains]
        for sw in switches:
            self.domains[sw.on or ""] = tuple(dict.fromkeys([*self.domains[sw.on or ""], *sw.cases]))
        self._asks_of = {var: [a.key for a in asks if a.save_as == var] for var in self.domains}
        self.allowed = self._propagate()
        # per variable: switch -> {node reachable from it (before another switch on the variable): distance}
        self._below = {sw.key: self._reach(sw) for sw in switches}
        self._questions: dict[str, tuple[str, ...]] = {}
        # the label of the menu option leading to a node: a name for a question before it is resolved
        self.labels: dict[str, dict[str, str]] = {}
        for node in flows.nodes():
            if node.type == "menu":
                for option in node.options:
                    if option.next and option.next not in self.labels:
                        self.labels[option.next] = option.label

    # -- what the flows say ---------------------------------------------------------------------

    def _roots(self) -> list[str]:
        targets = {t for n in self.flows.nodes() for _, t in n.targets()}
        roots = [self.flows.settings.entry, *(f"{f.id}.{f.start}" for f in self.flows.flows.values())]
        roots += [n.key for n in self.flows.nodes() if n.key not in targets]
        return [r for r in dict.fromkeys(roots) if self.flows.has(r)]

    def _edges(self, node: Node, values: dict[str, frozenset[str]]) -> list[tuple[str, dict[str, frozenset[str]]]]:
        if node.type == "switch" and node.on in self.domains:
            var = node.on or ""
            out = []
            for case, target in node.cases.items():
                out.append((target, {**values, var: values[var] & {case}}))
            if node.default:
                out.append((node.default, {**values, var: values[var] - set(node.cases)}))
            return out
        return [(target, values) for _, target in node.targets()]

    def _propagate(self) -> dict[str, dict[str, frozenset[str]]]:
        full = {var: frozenset(values) for var, values in self.domains.items()}
        allowed: dict[str, dict[str, frozenset[str]]] = {}
        queue = deque((root, full) for root in self._roots())
        while queue:
            key, values = queue.popleft()
            if not self.flows.has(key) or any(not v for v in values.values()):
                continue
            seen = allowed.get(key)
            merged = values if seen is None else {var: seen[var] | values[var] for var in full}
            if seen is not None and merged == seen:
                continue
            allowed[key] = merged
            queue.extend(self._edges(self.flows.node(key), merged))
        return allowed

    def _reach(self, switch: Node) -> dict[str, int]:
        """Nodes reachable from a switch, with their distance, without passing another switch on the
        same variable."""
        dist: dict[str, int] = {}
        queue = deque((target, 1) for _, target in switch.targets())
        while queue:
            key, d = queue.popleft()
            if key in dist or not self.flows.has(key):
                continue
            dist[key] = d
            node = self.flows.node(key)
            if node.type == "switch" and node.on == switch.on:
                continue
            queue.extend((target, d + 1) for _, target in node.targets())
        return dist

    def depends(self, key: str) -> list[str]:
        """The contact variables a node depends on, the outermost (the farthest switch) first."""
        values = self.allowed.get(key)
        if values is None:
            return []
        out = [var for var, allowed in values.items() if allowed != frozenset(self.domains[var])]
        return sorted(out, key=lambda var: -max((d.get(key, 0) for sw, d in self._below.items()
                                                 if self.flows.node(sw).on == var), default=0))

    def specific(self, key: str, var: str) -> bool:
        """Whether a node is meant for one value of `var` only (its title names it: "...: Узбекистан")."""
        allowed = self.allowed.get(key, {}).get(var)
        return allowed is not None and len(allowed) == 1

    def _nearest_switch(self, key: str, var: str) -> str | None:
        best = [(d[key], sw) for sw, d in self._below.items() if key in d and self.flows.node(sw).on == var]
        return min(best)[1] if best else None

    # -- for one person -----------------------------------------------------------------------------

    def _follow(self, key: str | None, known: Mapping[str, str]) -> str | None:
        """From a switch branch to the node the person will see: through steps already decided."""
        for _ in range(MAX_FOLLOW):
            if key is None or not self.flows.has(key):
                return None
            node = self.flows.node(key)
            if node.type == "goto":
                key = node.target
            elif node.type == "ask" and node.scope == "contact" and node.save_as in known:
                key = node.next
            elif node.type == "switch" and node.on in known:
                key = node.cases.get(known[node.on or ""], node.default)
            else:
                return key
        return None

    def resolve(self, key: str, known: Mapping[str, str]) -> Resolution:
        for _ in range(5):  # a redirect may depend on another variable
            allowed = self.allowed.get(key)
            if allowed is None:
                return Resolution(key)
            for var in self.depends(key):
                value = known.get(var)
                if value is not None and value in allowed[var]:
                    continue
                switch = self._nearest_switch(key, var)
                if value is None:
                    ask = self._ask_before(switch, var)
                    return Resolution(ask, asks=var, want=key) if ask else Resolution(key)
                if switch is None:
                    return Resolution(key)
                sw = self.flows.node(switch)
                target = self._follow(sw.cases.get(value, sw.default), known)
                if target is None or target == key:
                    return Resolution(key)
                key = target
                break
            else:
                return Resolution(key)
        return Resolution(key)

    def _ask_before(self, switch: str | None, var: str) -> str | None:
        asks = self._asks_of.get(var, [])
        before = [a for a in asks if self.flows.node(a).next == switch]
        return (before or asks)[0] if asks else None

    def question(self, key: str) -> tuple[str, ...]:
        """What a node resolves to for every combination of the values it depends on: nodes with the
        same question are variants of one answer."""
        cached = self._questions.get(key)
        if cached is not None:
            return cached
        vars_ = self.depends(key)
        if not vars_:
            out: tuple[str, ...] = (key,)
        else:
            out = tuple(self.resolve(key, dict(zip(vars_, combo, strict=True))).node
                        for combo in itertools.product(*(self.domains[v] for v in vars_)))
        self._questions[key] = out
        return out
