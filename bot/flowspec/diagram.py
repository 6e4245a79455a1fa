"""Mermaid diagram of one flow: nodes by type, edges labelled with the Russian option text."""

from __future__ import annotations

from bot.flowspec.model import FlowSet, Node

SHAPES = {
    "menu": ("{{", "}}"), "answer": ("[", "]"), "ask": ("[/", "/]"), "switch": ("{", "}"),
    "calculate": ("[[", "]]"), "handoff": ("([", "])"), "goto": ("((", "))"),
}


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")[:40]


def _name(key: str) -> str:
    return key.replace(".", "__")


def mermaid(flowset: FlowSet, flow_id: str) -> str:
    flow = flowset.flows[flow_id]
    start = _name(f"{flow_id}.{flow.start}")
    lines = ["flowchart TD", f'  start(("{_label(flow.title.get("ru", flow_id))}")) --> {start}']
    external: set[str] = set()
    for node in flow.nodes.values():
        left, right = SHAPES[node.type]
        title = node.title or node.text
        caption = f"{node.id}: {_label(title['ru'])}" if title and "ru" in title else node.id
        lines.append(f'  {_name(node.key)}{left}"{node.type} · {caption}"{right}')
        for field, target in node.targets():
            lines.append(f"  {_name(node.key)} -->|{_edge_label(node, field)}| {_name(target)}")
            if not target.startswith(f"{flow_id}."):
                external.add(target)
    for target in sorted(external):
        lines.append(f'  {_name(target)}>"{target}"]')
    return "\n".join(lines) + "\n"


def _edge_label(node: Node, field: str) -> str:
    if field.startswith("options["):
        index = int(field[len("options["):field.index("]")]) - 1
        return f'"{_label(node.options[index].label.get("ru", str(index + 1)))}"'
    if field.startswith("cases."):
        return f'"{field[len("cases."):]}"'
    return f'"{field}"'
