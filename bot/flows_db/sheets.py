"""The texts of a flow set as a spreadsheet for translators (CSV or XLSX; columns flow, node, field, ru,
uz, tg, ky) and back into an editor's draft, with a report of what changed.

One row per text: a flow's title (node empty), and each node's title, text, error and option labels
(`options[2].label`); `examples` holds a node's example questions, one per line of the cell. An empty
cell leaves the text as it was; rows naming a flow, node or field that does not exist are reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap

from bot.flows_db.yamledit import L10N_FIELDS, EditError, FlowDoc, clean_text, lines, set_examples, set_text
from bot.flowspec.loader import is_flow_file, parse_yaml
from bot.flowspec.model import LANGS

COLUMNS = ("flow", "node", "field", *LANGS)
# What an uploaded table may hold: far more than a flow set's texts (about 1,000 rows), far less than what
# a hostile file can declare (A1:XFD1048576 in a 1.6 KB XLSX took the server to 2 GB). Columns past
# MAX_COLUMNS are not read; more rows or a longer cell is a clear refusal.
MAX_ROWS = 20_000
MAX_COLUMNS = 26
MAX_CELL_CHARS = 20_000
OPTION_RE = re.compile(r"^options\[(\d+)\]\.label$")


@dataclass
class Row:
    flow: str
    node: str
    field: str
    texts: dict[str, str]


def _l10n(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {lang: clean_text(str(value[lang])) for lang in LANGS if value.get(lang) is not None}


def rows(files: dict[str, str]) -> Iterator[Row]:
    """Every text of the flow set, flow by flow (files in name order), nodes in file order."""
    for name in sorted(files):
        if not is_flow_file(name):
            continue
        data, errs = parse_yaml(files[name], name)
        if errs or not isinstance(data, dict):
            continue
        flow = str(data.get("id") or name.rsplit(".", 1)[0])
        title = _l10n(data.get("title"))
        if title is not None:
            yield Row(flow, "", "title", title)
        nodes = data.get("nodes")
        if not isinstance(nodes, dict):
            continue
        for node_id, node in nodes.items():
            if not isinstance(node, dict):
                continue
            for name_ in L10N_FIELDS:
                texts = _l10n(node.get(name_))
                if texts is not None:
                    yield Row(flow, str(node_id), name_, texts)
            for i, option in enumerate(node.get("options") or [], start=1):
                texts = _l10n(option.get("label")) if isinstance(option, dict) else None
                if texts is not None:
                    yield Row(flow, str(node_id), f"options[{i}].label", texts)
            examples = node.get("examples")
            if isinstance(examples, dict):
                yield Row(flow, str(node_id), "examples", {
                    lang: "\n".join(str(e).strip() for e in examples[lang])
                    for lang in LANGS if isinstance(examples.get(lang), list)})


def to_csv(files: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows(files):
        writer.writerow([row.flow, row.node, row.field, *(row.texts.get(lang, "") for lang in LANGS)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(files: dict[str, str]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = "texts"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows(files):
        sheet.append([row.flow, row.node, row.field, *(row.texts.get(lang, "") for lang in LANGS)])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a text, never a formula
            cell.alignment = wrap
    for column, width in zip("ABCDEFG", (14, 24, 18, 60, 60, 60, 60), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "D2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class SheetError(Exception):
    pass


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of an uploaded CSV or XLSX file as {column: text}, by the header row."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        table = _read_xlsx(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SheetError("the CSV file is not UTF-8 text; save it as 'CSV UTF-8'") from exc
        try:
            dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        table = _limited(csv.reader(io.StringIO(text, newline=""), dialect))
    if not table:
        raise SheetError("the file is empty")
    header = [str(h or "").strip().lower() for h in table[0]]
    for needed in ("flow", "node", "field"):
        if needed not in header:
            raise SheetError(f"the first row must name the columns {', '.join(COLUMNS)}; '{needed}' is missing")
    if not any(lang in header for lang in LANGS):
        raise SheetError(f"no language column ({', '.join(LANGS)}) in the first row")
    out = []
    for raw in table[1:]:
        cells = ["" if c is None else str(c) for c in raw]
        if not any(c.strip() for c in cells):
            continue
        out.append({name: cells[i] if i < len(cells) else "" for i, name in enumerate(header) if name})
    return out


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise SheetError(f"could not read the spreadsheet: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the file's own claim of its size is not believed: rows are streamed
        return _limited(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True))
    except SheetError:
        raise
    except Exception as exc:  # a broken part inside the archive
        raise SheetError(f"could not read the spreadsheet: {exc}") from exc
    finally:
        book.close()


def _limited(table: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The rows of a table read one at a time, within MAX_ROWS, MAX_COLUMNS and MAX_CELL_CHARS."""
    out: list[list[Any]] = []
    for number, row in enumerate(table, start=1):
        if number > MAX_ROWS:
            raise SheetError(f"the table has more than {MAX_ROWS} rows (empty rows count); "
                             "keep only the texts' rows")
        cells = list(row[:MAX_COLUMNS])
        for column, cell in enumerate(cells, start=1):
            if cell is not None and len(str(cell)) > MAX_CELL_CHARS:
                raise SheetError(f"the cell in row {number}, column {column} is longer than "
                                 f"{MAX_CELL_CHARS} characters")
        out.append(cells)
    return out


@dataclass
class Change:
    flow: str
    node: str
    field: str
    lang: str
    old: str
    new: str


@dataclass
class Report:
    changes: list[Change] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rows that name nothing that exists
    empty: int = 0  # empty cells, left as they were


def apply_table(files: dict[str, str], table: list[dict[str, str]]) -> tuple[dict[str, str], Report]:
    """The files with the table's texts put in; texts are compared with the files as they were, so a
    text shared by several nodes (a YAML anchor) is changed by the row that changes it."""
    report = Report()
    before = {(r.flow, r.node, r.field): r.texts for r in rows(files)}
    file_of = {}
    for name in files:
        if is_flow_file(name):
            data, _ = parse_yaml(files[name], name)
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                file_of[data["id"]] = name
    docs: dict[str, FlowDoc] = {}
    changed: set[str] = set()
    for number, row in enumerate(table, start=2):
        flow, node_id, what = (row.get(k, "").strip() for k in ("flow", "node", "field"))
        key = (flow, node_id, what)
        where = f"row {number} ({flow} > {node_id or '-'} > {what})"
        if key not in before:
            report.skipped.append(f"{where}: no such text in the flow set")
            continue
        name = file_of[flow]
        try:
            doc = docs.get(name) or FlowDoc(files[name], name)
        except EditError as exc:
            report.skipped.append(f"{where}: {exc}")
            continue
        docs[name] = doc
        for lang in LANGS:
            if lang not in row:
                continue
            cell = row[lang]
            if not cell.strip():
                report.empty += 1
                continue
            old = before[key].get(lang, "")
            if what == "examples":
                if lines(cell) == lines(old):
                    continue
                target = doc.node(node_id)
                set_examples(target, {lang: lines(cell)})
            else:
                if clean_text(cell) == old:
                    continue
                container = _container(doc, node_id, what)
                if container is None:
                    report.skipped.append(f"{where}: the field is not a text in four languages")
                    break
                set_text(container, lang, cell)
            changed.add(name)
            report.changes.append(Change(flow, node_id, what, lang, old, clean_text(cell)))
    out = dict(files)
    for name in changed:
        out[name] = docs[name].dump()
    return out, report


def _container(doc: FlowDoc, node_id: str, what: str) -> CommentedMap | None:
    if not node_id:
        value = doc.data.get(what)
    else:
        node = doc.node(node_id)
        match = OPTION_RE.match(what)
        if match:
            opts = node.get("options") or []
            i = int(match.group(1)) - 1
            value = opts[i].get("label") if 0 <= i < len(opts) and isinstance(opts[i], dict) else None
        else:
            value = node.get(what)
    return value if isinstance(value, CommentedMap) else None
