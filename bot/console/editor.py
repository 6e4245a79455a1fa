"""The flow editor in the console (roles editor and admin): the flows with their problems at a glance,
a page per flow with every node's texts in four languages side by side, drafts per editor, a preview that
runs the draft as a migrant would see it, publish, history with diffs, rollback, spreadsheets for
translators, and the audit log (admins).

Edits go into the editor's draft (the whole flow set's file texts, changed in ruamel.yaml round-trip mode
so comments and order stay); nothing reaches migrants before "Publish", which is refused while the checks
of `hotline flows check` find errors. Publishing adds a version; every process switches to it within
seconds (bot.flows_db.reload). A publish can name a time (in the office's time zone) from which the
version takes effect; the history shows what is scheduled, with a way to cancel it before its time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections import OrderedDict, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from ruamel.yaml.comments import CommentedMap

from bot.console.drafts import (
    TECHNICAL,
    Checked,
    Working,
    assign_problems,
    diff_files,
    months_before,
    shown_fields,
    text_of,
    version_state,
)
from bot.console.i18n import L_
from bot.console.preview import Previews
from bot.console.views import Console
from bot.core.engine import Engine
from bot.core.model import LANG_CHOICES
from bot.core.understanding.variants import Variants
from bot.flows_db import sheets, unanswered
from bot.flows_db.publisher import FlowPublisher, Refused, local_time
from bot.flows_db.reload import EngineCache, FlowReloader
from bot.flows_db.store import Files, FlowStore, changed_files, errors, files_key, merge, validate
from bot.flows_db.yamledit import (
    L10N_FIELDS,
    TARGET_FIELDS,
    EditError,
    FlowDoc,
    add_option,
    lines,
    move_option,
    native_check_of,
    remove_option,
    resolve,
    set_bool,
    set_date,
    set_examples,
    set_l10n,
    set_list,
    set_native_check,
    set_scalar,
    set_target,
)
from bot.flowspec import Problem
from bot.flowspec.loader import SCHEMA, is_flow_file, parse_yaml
from bot.flowspec.model import LANGS, PRIORITIES, QUEUES, FlowSet, Node
from bot.flowspec.taxonomy import topics
from bot.i18n import Catalogs
from bot.storage import Staff, utcnow

log = logging.getLogger(__name__)
FLOW_RE = r"[a-z][a-z0-9_]{0,39}"
ADDABLE = ("answer", "menu", "ask", "handoff", "goto")
MAX_NOTE = 500
MAX_UPLOAD = 4 * 1024 * 1024


class Editor:
    def __init__(self, console: Console, store: FlowStore, texts: Catalogs, *, reloader: FlowReloader | None = None,
                 review_months: int = 6, publisher: FlowPublisher | None = None, timezone: str = "Europe/Moscow"):
        self.console, self.store, self.texts = console, store, texts
        self.timezone = timezone  # scheduled times are written and shown in it
        self.reloader = reloader
        self.review_months = review_months
        self._checked: OrderedDict[str, Checked] = OrderedDict()
        self.publisher = publisher or FlowPublisher(store, events=console.events, reloader=reloader,
                                                    count_errors=self._count_errors)
        # the preview's engines; shared with the reloader, so a previewed draft is served without a rebuild
        self.engines = reloader.engines if reloader is not None else EngineCache(texts)
        self.previews = Previews()

    def today(self) -> dt.date:
        return utcnow().date()

    # -- plumbing --------------------------------------------------------------------------------

    def me(self, request: web.Request, role: str = "editor") -> Staff:
        return self.console.me(request, role)

    def render(self, name: str, request: web.Request, **context: Any) -> web.Response:
        return self.console.render(name, request, langs=LANGS, **context)

    async def flash(self, request: web.Request, text: str, **params: Any) -> None:
        """A one-time message; `text` is a console msgid (or a detail passed through untranslated)."""
        await self.console.flash(request, text, **params)

    async def check(self, files: Files) -> Checked:
        """The checks of `hotline flows check`, remembered for the last few flow sets seen."""
        key = files_key(files)
        if key in self._checked:
            self._checked.move_to_end(key)
            return self._checked[key]
        flowset, problems = await asyncio.to_thread(validate, files)
        checked = Checked(files, flowset, problems)
        self._checked[key] = checked
        while len(self._checked) > 8:
            self._checked.popitem(last=False)
        return checked

    async def _count_errors(self, files: Files) -> int:
        return len((await self.check(files)).errors)

    async def working(self, me: Staff) -> Working:
        latest = await self.store.latest()
        if latest is None or latest.files is None:
            raise web.HTTPServiceUnavailable(text="No flow version in the database yet.")
        draft = await self.store.draft(me.id)
        if draft is not None:
            return Working(draft.files, draft.base_version, latest.number, True, draft.updated_at)
        return Working(latest.files, latest.number, latest.number, False)

    async def save(self, me: Staff, work: Working, files: Files) -> None:
        await self.store.save_draft(me.id, work.base, files)

    async def save_file(self, me: Staff, work: Working, name: str, text: str) -> Files:
        """The draft with one file replaced, saved; returns the draft's files."""
        files = dict(work.files)
        files[name] = text
        await self.save(me, work, files)
        return files

    def file_of(self, work: Working, flow_id: str) -> str:
        for name in (f"{flow_id}.yaml", f"{flow_id}.yml"):
            if name in work.files:
                return name
        raise web.HTTPNotFound(text=f"No flow '{flow_id}'.")

    def stale(self, checked: Checked) -> dict[str, list[tuple[str, dt.date]]]:
        """Answers per flow whose facts were last reviewed before the review period."""
        cutoff = months_before(self.today(), self.review_months)
        out: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
        for node in checked.flowset.nodes():
            if node.type == "answer" and node.reviewed is not None and node.reviewed < cutoff:
                out[node.flow].append((node.id, node.reviewed))
        return out

    # -- the list of flows -------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        me = self.me(request)
        work = await self.working(me)
        checked = await self.check(work.files)
        stale = self.stale(checked)
        flows = []
        for name in sorted(work.files):
            if not is_flow_file(name):
                continue
            loaded = next((f for f in checked.flowset.flows.values() if f.file == name), None)
            flow_id = loaded.id if loaded else name.rsplit(".", 1)[0]
            problems = checked.in_file(name)
            missing = {lang: sum(1 for p in problems if not p.warning and p.field
                                 and p.field.endswith(f".{lang}") and p.message in ("missing", "is empty"))
                       for lang in LANGS}
            flow = checked.flowset.flows.get(flow_id)
            answers = [n for n in flow.nodes.values() if n.type == "answer"] if flow else []
            # answers whose example questions are written in some languages but not in this one
            no_examples = {lang: sum(1 for n in answers if n.examples and not n.examples.get(lang)) for lang in LANGS}
            # answers whose text in a language no native speaker has checked yet
            unchecked = {lang: sum(1 for n in answers if lang not in n.native_check) for lang in LANGS}
            flows.append({
                "id": flow_id, "file": name, "title": (loaded.title.get("ru") if loaded else None) or flow_id,
                "nodes": len(flow.nodes) if flow else None, "errors": len(errors(problems)),
                "first_error": next((p.node for p in errors(problems) if p.node), None),
                "warnings": sum(1 for p in problems if p.warning), "missing": missing, "no_examples": no_examples,
                "unchecked": unchecked,
                "stale": stale.get(flow_id, []), "changed": False})
        other = [p for p in checked.problems if not is_flow_file(p.file)]
        changed: list[str] = []
        conflicts: list[str] = []
        if work.is_draft:
            base = await self.store.get(work.base)
            latest = await self.store.get(work.latest)
            if base and latest and base.files is not None and latest.files is not None:
                changed = changed_files(base.files, work.files)
                _, conflicts = merge(base.files, work.files, latest.files)
            for f in flows:
                f["changed"] = f["file"] in changed
        return self.render("editor_list.html", request, work=work, flows=flows, other=other,
                           errors=len(checked.errors), changed=changed, conflicts=conflicts,
                           review_months=self.review_months, timezone=self.timezone)

    # -- one flow ------------------------------------------------------------------------------

    async def flow(self, request: web.Request) -> web.Response:
        me = self.me(request)
        flow_id = request.match_info["flow"]
        work = await self.working(me)
        name = self.file_of(work, flow_id)
        checked = await self.check(work.files)
        try:
            doc = FlowDoc(work.files[name], name)
            nodes_raw = doc.nodes
        except EditError as exc:
            await self.flash(request, str(exc))
            raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}/yaml") from exc
        problems = checked.in_file(name)
        by_node: dict[str | None, list[Problem]] = defaultdict(list)
        for p in problems:
            by_node[p.node or None].append(p)  # the flow's own fields come with node ""
        # every node of the flow set, for the lists of targets: this flow's first, as the file has them
        targets = [f"{flow_id}.{n}" for n in nodes_raw] + [
            n.key for n in checked.flowset.nodes() if n.flow != flow_id]
        shared = self.shared(nodes_raw)
        variants = variants_of(checked.flowset, flow_id)
        cutoff = months_before(self.today(), self.review_months)
        nodes = []
        for node_id, raw in nodes_raw.items():
            raw = raw if isinstance(raw, dict) else {}
            nodes.append({
                "id": str(node_id), "flow_key": f"{flow_id}.{node_id}", "raw": raw, "type": str(raw.get("type", "?")),
                "problems": assign_problems(by_node.get(str(node_id), []), shown_fields(raw)),
                "shared": shared.get(str(node_id), {}),
                "technical": [(k, raw[k]) for k in TECHNICAL if k in raw],
                "stale": isinstance(raw.get("reviewed"), dt.date) and raw["reviewed"] < cutoff,
                "variants": variants.get(f"{flow_id}.{node_id}", []),
            })
        return self.render("editor_flow.html", request, work=work, flow_id=flow_id, file=name, doc=doc.data,
                           nodes=nodes, targets=targets,
                           flow_problems=assign_problems(by_node.get(None, []), {
                               "start", "title", *(f"title.{lang}" for lang in LANGS)}),
                           topics=topics(), queues=QUEUES, priorities=PRIORITIES, addable=ADDABLE,
                           text_of=text_of, resolve=resolve, native=native_check_of, errors=len(checked.errors),
                           review_months=self.review_months)

    @staticmethod
    def shared(nodes: CommentedMap) -> dict[str, dict[str, list[str]]]:
        """Texts and option lists used by several nodes (YAML anchors): node -> field -> the others."""
        users: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for node_id, raw in nodes.items():
            if isinstance(raw, dict):
                for name in (*L10N_FIELDS, "options"):
                    if isinstance(raw.get(name), dict | list):
                        users[id(raw[name])].append((str(node_id), name))
        out: dict[str, dict[str, list[str]]] = defaultdict(dict)
        for group in users.values():
            if len(group) > 1:
                for node_id, name in group:
                    out[node_id][name] = [n for n, _ in group if n != node_id]
        return out

    async def node_save(self, request: web.Request) -> web.Response:
        me = self.me(request)
        flow_id, node_id = request.match_info["flow"], request.match_info["node"]
        form = await request.post()
        work = await self.working(me)
        name = self.file_of(work, flow_id)
        anchor = f"n-{node_id}"
        try:
            doc = FlowDoc(work.files[name], name)
            node = doc.node(node_id)
            changed = apply_form(node, form, flow_id)
            action = str(form.get("action", "save"))
            start = str(doc.data.get("start") or "")
            if action in ("up", "down"):
                changed |= doc.move_node(node_id, -1 if action == "up" else 1)
            elif action == "remove":
                doc.remove_node(node_id)
                changed, anchor = True, "nodes"
            elif action == "opt-add":
                add_option(node, start)
                changed = True
            elif (m := re.fullmatch(r"opt-(remove|up|down)-(\d+)", action)) is not None:
                index = int(m.group(2)) - 1
                if m.group(1) == "remove":
                    changed |= remove_option(node, index)
                else:
                    changed |= move_option(node, index, -1 if m.group(1) == "up" else 1)
        except EditError as exc:
            await self.flash(request, L_("Not saved: %(why)s"), why=str(exc))
            raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}#{anchor}") from exc
        if changed:
            files = await self.save_file(me, work, name, doc.dump())
            checked = await self.check(files)
            mine = [p for p in checked.problems if p.file == name and p.node == node_id and not p.warning]
            if mine or checked.errors:
                await self.flash(request, L_("Saved in your draft. %(node)d problem(s) in this node, %(all)d in "
                                             "the whole flow set."), node=len(mine), all=len(checked.errors))
            else:
                await self.flash(request, L_("Saved in your draft. No problems: it can be published."))
        else:
            await self.flash(request, L_("Nothing changed."))
        raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}#{anchor}")

    async def flow_save(self, request: web.Request) -> web.Response:
        """The flow's own fields (title, start) and adding a node."""
        me = self.me(request)
        flow_id = request.match_info["flow"]
        form = await request.post()
        work = await self.working(me)
        name = self.file_of(work, flow_id)
        anchor = "top"
        try:
            doc = FlowDoc(work.files[name], name)
            if form.get("action") == "add":
                node_id = str(form.get("id", "")).strip()
                doc.add_node(node_id, str(form.get("type", "answer")), str(form.get("after", "")) or None,
                             str(doc.data.get("start") or node_id))
                changed, anchor = True, f"n-{node_id}"
            else:
                changed = set_l10n(doc.data, "title", {lang: str(form[f"title.{lang}"])
                                                       for lang in LANGS if f"title.{lang}" in form})
                start = str(form.get("start", ""))
                if start and str(doc.data.get("start")) != start:
                    doc.data["start"] = start
                    changed = True
        except EditError as exc:
            await self.flash(request, L_("Not saved: %(why)s"), why=str(exc))
            raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}#{anchor}") from exc
        if changed:
            await self.save_file(me, work, name, doc.dump())
            await self.flash(request, L_("Saved in your draft."))
        raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}#{anchor}")

    def yaml_file(self, request: web.Request, work: Working) -> tuple[str, str]:
        """(flow id, file name) of a YAML page: a flow's file, or the settings (no flow id)."""
        flow_id = request.match_info.get("flow", "")
        if not flow_id:
            if "_settings.yaml" not in work.files:
                raise web.HTTPNotFound(text="The flow set has no _settings.yaml.")
            return "", "_settings.yaml"
        return flow_id, self.file_of(work, flow_id)

    async def yaml_page(self, request: web.Request) -> web.Response:
        me = self.me(request)
        work = await self.working(me)
        flow_id, name = self.yaml_file(request, work)
        checked = await self.check(work.files)
        return self.render("editor_yaml.html", request, work=work, flow_id=flow_id, file=name,
                           text=work.files[name], problems=checked.in_file(name))

    async def yaml_save(self, request: web.Request) -> web.Response:
        me = self.me(request)
        form = await request.post()
        work = await self.working(me)
        flow_id, name = self.yaml_file(request, work)
        text = str(form.get("text", "")).replace("\r\n", "\n")
        if text and not text.endswith("\n"):
            text += "\n"
        # What cannot even be read as YAML (a syntax error, nesting or aliases past bot/flowspec/limits.py)
        # is not saved: it would break every editor page until discarded. The page comes back with the text.
        _, unreadable = parse_yaml(text, name)
        if unreadable:
            return self.render("editor_yaml.html", request, status=400, work=work, flow_id=flow_id, file=name,
                               text=text, problems=unreadable)
        if text != work.files[name]:
            files = await self.save_file(me, work, name, text)
            checked = await self.check(files)
            count = len(errors(checked.in_file(name)))
            if count:
                await self.flash(request, L_("Saved in your draft; %(count)d error(s) in %(file)s."), file=name,
                                 count=count)
            else:
                await self.flash(request, L_("Saved in your draft."))
        raise web.HTTPSeeOther(f"/console/flows/f/{flow_id}/yaml" if flow_id else "/console/flows/settings")

    # -- draft, publish, history, rollback -------------------------------------------------------

    async def discard(self, request: web.Request) -> web.Response:
        me = self.me(request)
        await self.store.discard_draft(me.id)
        self.previews.forget(me.id)
        await self.flash(request, L_("Your draft was discarded; you see the published version."))
        raise web.HTTPSeeOther("/console/flows")

    async def draft_diff(self, request: web.Request) -> web.Response:
        me = self.me(request)
        work = await self.working(me)
        latest = await self.store.get(work.latest)
        assert latest is not None and latest.files is not None
        base = await self.store.get(work.base)
        merged, conflicts = merge(base.files if base and base.files is not None else latest.files, work.files,
                                  latest.files)
        return self.render("editor_diff.html", request, title=self.console.t(request, L_("Your changes")),
                           subtitle=self.console.t(request, L_("your draft compared with the published version "
                                                               "%(number)s"), number=latest.number),
                           diffs=diff_files(latest.files, merged, f"v{latest.number}", "draft"), version=None,
                           conflicts=conflicts)

    def local(self, when: dt.datetime) -> str:
        return when.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")

    async def publish(self, request: web.Request) -> web.Response:
        me = self.me(request)
        form = await request.post()
        note = " ".join(str(form.get("note", "")).split())[:MAX_NOTE]
        at_text = str(form.get("at", "")).strip()
        try:
            at = local_time(at_text, self.timezone) if at_text else None
            version = await self.publisher.publish_draft(me.id, me.login, note, overwrite=bool(form.get("overwrite")),
                                                         at=at)
        except Refused as exc:
            await self.flash(request, str(exc))
            raise web.HTTPSeeOther("/console/flows") from exc
        if version.effective_at is not None:
            await self.flash(request, L_("Scheduled as version %(number)s: migrants get it from %(when)s (%(zone)s)."),
                             number=version.number, when=self.local(version.effective_at), zone=self.timezone)
            raise web.HTTPSeeOther("/console/flows/history")
        waiting = await self.store.scheduled()
        later = "".join(" " + self.console.t(
            request, L_("Version %(number)s, scheduled for %(when)s (%(zone)s), still replaces it then and does not "
                        "have this change: cancel it and schedule it again if it should."),
            number=v.number, when=self.local(v.takes_effect), zone=self.timezone) for v in waiting)
        await self.flash(request, L_("Published as version %(number)s. Migrants get it now.%(later)s"),
                         number=version.number, later=later)
        raise web.HTTPSeeOther("/console/flows/history")

    async def announce(self, number: int) -> None:
        await self.publisher.announce(number)

    async def history(self, request: web.Request) -> web.Response:
        self.me(request)
        versions = await self.store.history()
        serving = self.reloader.current if self.reloader else None
        now, live = self.store.clock(), await self.store.serving_number()
        states = {v.number: version_state(v, live, now) for v in versions}
        scheduled = sorted((v for v in versions if states[v.number] == "scheduled"), key=lambda v: v.takes_effect)
        return self.render("editor_history.html", request, versions=versions, serving=serving, states=states,
                           scheduled=scheduled, local=self.local, timezone=self.timezone)

    async def cancel(self, request: web.Request) -> web.Response:
        me = self.me(request)
        number = int(request.match_info["number"])
        try:
            await self.publisher.cancel(number, me.id, me.login)
        except Refused as exc:
            await self.flash(request, str(exc))
            raise web.HTTPSeeOther("/console/flows/history") from exc
        await self.flash(request, L_("Version %(number)s is cancelled: it will not take effect."), number=number)
        raise web.HTTPSeeOther("/console/flows/history")

    async def version(self, request: web.Request) -> web.Response:
        self.me(request)
        number = int(request.match_info["number"])
        version = await self.store.get(number)
        if version is None or version.files is None:
            raise web.HTTPNotFound(text=f"No version {number}.")
        against_raw = request.query.get("against", "")
        against = int(against_raw) if against_raw.isdigit() else number - 1
        other = await self.store.get(against) if against else None
        old_files = other.files if other and other.files is not None else {}
        return self.render("editor_diff.html", request, title=self.console.t(request, L_("Version %(number)s"),
                                                                              number=number),
                           subtitle=self.console.t(request, L_("compared with version %(number)s"), number=against)
                           if other else self.console.t(request, L_("the first version")),
                           diffs=diff_files(old_files, version.files, f"v{against}", f"v{number}"),
                           version=version, conflicts=[])

    async def rollback(self, request: web.Request) -> web.Response:
        me = self.me(request)
        number = int(request.match_info["number"])
        form = await request.post()
        note = " ".join(str(form.get("note", "")).split())[:MAX_NOTE]
        try:
            version = await self.publisher.rollback(number, me.id, me.login, note)
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        except Refused as exc:
            await self.flash(request, str(exc))
            raise web.HTTPSeeOther("/console/flows/history") from exc
        await self.flash(request, L_("Version %(number)s is live again, as version %(new)s."), number=number,
                         new=version.number)
        raise web.HTTPSeeOther("/console/flows/history")

    # -- preview -------------------------------------------------------------------------------

    async def engine_for(self, checked: Checked) -> Engine:
        return await self.engines.get(checked.files, checked.flowset)

    async def preview(self, request: web.Request) -> web.Response:
        me = self.me(request)
        work = await self.working(me)
        checked = await self.check(work.files)
        chat = self.previews.get(me.id)
        return self.render("editor_preview.html", request, work=work, chat=chat, errors=checked.errors[:20],
                           error_count=len(checked.errors), lang_choices=LANG_CHOICES,
                           lang=chat.lang if chat else (me.languages[0] if me.languages else "ru"))

    async def preview_send(self, request: web.Request) -> web.Response:
        me = self.me(request)
        form = await request.post()
        work = await self.working(me)
        checked = await self.check(work.files)
        if checked.errors:
            await self.flash(request, L_("The preview runs a flow set without errors: correct them first."))
            raise web.HTTPSeeOther("/console/flows/preview")
        engine = await self.engine_for(checked)
        chat = self.previews.get(me.id)
        self.previews.send(me.id, engine, files_key(work.files), lang=str(form.get("lang") or (
            chat.lang if chat else "ru")), text=str(form.get("text", ""))[:4000],
            payload=str(form.get("payload", "")) or None, restart=form.get("action") == "restart", now=utcnow())
        raise web.HTTPSeeOther("/console/flows/preview#end")

    # -- spreadsheets for translators -------------------------------------------------------------

    async def texts_export(self, request: web.Request) -> web.Response:
        me = self.me(request)
        work = await self.working(me)
        kind = request.match_info["kind"]
        stamp = f"v{work.base}{'-draft' if work.is_draft else ''}"
        if kind == "csv":
            body, ctype = sheets.to_csv(work.files), "text/csv"
        else:
            body = await asyncio.to_thread(sheets.to_xlsx, work.files)
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return web.Response(body=body, content_type=ctype, headers={
            "Content-Disposition": f'attachment; filename="hotline-texts-{stamp}.{kind}"',
            "Cache-Control": "no-store"})

    async def texts_import(self, request: web.Request) -> web.Response:
        me = self.me(request)
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            await self.flash(request, L_("Choose a CSV or XLSX file first."))
            raise web.HTTPSeeOther("/console/flows")
        data = upload.file.read(MAX_UPLOAD + 1)
        work = await self.working(me)
        try:
            if len(data) > MAX_UPLOAD:
                raise sheets.SheetError("the file is larger than 4 MB")
            table = await asyncio.to_thread(sheets.read_table, data, upload.filename or "")
            files, report = await asyncio.to_thread(sheets.apply_table, work.files, table)
        except sheets.SheetError as exc:
            await self.flash(request, L_("Not imported: %(why)s"), why=str(exc))
            raise web.HTTPSeeOther("/console/flows") from exc
        if report.changes:
            await self.save(me, work, files)
        checked = await self.check(files)
        return self.render("editor_texts.html", request, report=report, filename=upload.filename,
                           problems=checked.errors, changed=bool(report.changes))

    # -- unanswered questions ----------------------------------------------------------------------

    async def unanswered_page(self, request: web.Request) -> web.Response:
        me = self.me(request)
        rows = await unanswered.open_questions(self.store.db)
        groups = await asyncio.to_thread(unanswered.group, rows)
        work = await self.working(me)
        checked = await self.check(work.files)
        answers = [(n.key, (n.title or n.text or {}).get("ru", "")[:80]) for n in checked.flowset.nodes()
                   if n.type == "answer"]
        return self.render("editor_unanswered.html", request, work=work, groups=groups[:300], total=len(rows),
                           answers=answers, errors=len(checked.errors), lang_choices=LANGS,
                           topics=topics())

    async def unanswered_act(self, request: web.Request) -> web.Response:
        me = self.me(request)
        form = await request.post()
        ids = [int(i) for i in str(form.get("ids", "")).split(",") if i.strip().isdigit()][:5000]
        if not ids:
            raise web.HTTPSeeOther("/console/flows/unanswered")
        if form.get("action") == "dismiss":
            done = await unanswered.close(self.store.db, ids, "dismissed", me.id)
            await self.flash(request, L_("Dismissed %(count)d question(s)."), count=done)
            raise web.HTTPSeeOther("/console/flows/unanswered")
        key, lang, text = str(form.get("node", "")), str(form.get("lang", "")), str(form.get("text", ""))
        flow_id, _, node_id = key.partition(".")
        work = await self.working(me)
        try:
            if lang not in LANGS or not node_id:
                raise EditError("choose the answer and the language of the example")
            name = self.file_of(work, flow_id)
            doc = FlowDoc(work.files[name], name)
            added = unanswered.add_example(doc.node(node_id), lang, text)
        except (EditError, web.HTTPNotFound) as exc:
            await self.flash(request, L_("Not added: %(why)s"),
                             why=str(exc.text if isinstance(exc, web.HTTPNotFound) else exc))
            raise web.HTTPSeeOther("/console/flows/unanswered") from None
        if added:
            await self.save_file(me, work, name, doc.dump())
        await unanswered.close(self.store.db, ids, "added", me.id)
        if added:
            await self.flash(request, L_("Added to the examples of %(node)s (%(lang)s) in your draft; it takes "
                                         "effect when you publish."), node=key, lang=lang)
        else:
            await self.flash(request, L_("%(node)s has this example already (%(lang)s)."), node=key, lang=lang)
        raise web.HTTPSeeOther("/console/flows/unanswered")

    # -- audit log (admins) ------------------------------------------------------------------------

    async def audit(self, request: web.Request) -> web.Response:
        self.me(request, "admin")
        return self.render("editor_audit.html", request, rows=await self.store.audit_log())


def variants_of(flowset: FlowSet, flow_id: str) -> dict[str, list[dict[str, Any]]]:
    """For each answer of the flow that is one variant of a question (by citizenship or region), every
    variant of that question with the values it is for and its texts, to be shown side by side."""
    if not flowset.flows:
        return {}
    variants = Variants(flowset)
    answers = [n for n in flowset.nodes() if n.type == "answer"]
    groups: dict[tuple[str, ...], list[Node]] = defaultdict(list)
    for node in answers:
        groups[variants.question(node.key)].append(node)
    out: dict[str, list[dict[str, Any]]] = {}
    for members in groups.values():
        if len(members) < 2 or not any(m.flow == flow_id for m in members):
            continue
        shown = [{"key": m.key, "flow": m.flow, "id": m.id, "text": m.text or {},
                  "for": "; ".join(f"{var}: {', '.join(sorted(variants.allowed[m.key][var]))}"
                                   for var in variants.depends(m.key))} for m in members]
        for m in members:
            if m.flow == flow_id:
                out[m.key] = shown
    return out


def apply_form(node: CommentedMap, form: Any, flow_id: str) -> bool:
    """Put a node form's fields into the node; only fields the form carries, only where they differ."""
    changed = False
    allowed = SCHEMA.get(str(node.get("type")), {})  # a field the node's type does not have is not added

    def has(key: str) -> bool:
        return key in form and (key.partition(".")[0] in allowed or key.partition(".")[0] in node)

    def value(key: str) -> str:
        return str(form.get(key, ""))

    texts_before = {lang: text_of(node.get("text"), lang) for lang in LANGS}
    for name in L10N_FIELDS:
        given = {lang: value(f"{name}.{lang}") for lang in LANGS if has(f"{name}.{lang}")}
        if given:
            changed |= set_l10n(node, name, given)
    for lang in LANGS:
        before = native_check_of(node, lang)
        if has(f"native_check.{lang}.by"):
            changed |= set_native_check(node, lang, value(f"native_check.{lang}.by"), value(f"native_check.{lang}.on"))
        text_changed = text_of(node.get("text"), lang) != texts_before[lang]
        if text_changed and before != ("", "") and native_check_of(node, lang) == before:
            # a changed text was not read by the native speaker who checked the old one
            changed |= set_native_check(node, lang, "", "")
    for i, option in enumerate(node.get("options") or [], start=1):
        if not isinstance(option, CommentedMap):
            continue
        key = f"options[{i}]"
        given = {lang: str(form[f"{key}.label.{lang}"]) for lang in LANGS if f"{key}.label.{lang}" in form}
        if given:
            changed |= set_l10n(option, "label", given)
        if f"{key}.next" in form and node.get("type") == "menu":
            changed |= set_target(option, "next", str(form[f"{key}.next"]), flow_id)
        if f"{key}.value" in form and node.get("type") == "ask":
            changed |= set_scalar(option, "value", str(form[f"{key}.value"]).strip())
    for name in TARGET_FIELDS:
        if has(name):
            changed |= set_target(node, name, value(name), flow_id)
    cases = node.get("cases")
    if isinstance(cases, CommentedMap):
        for case in list(cases):
            if has(f"cases.{case}") and value(f"cases.{case}"):
                changed |= set_target(cases, str(case), value(f"cases.{case}"), flow_id)
    if has("topic"):
        changed |= set_scalar(node, "topic", value("topic"))
    examples = {lang: lines(value(f"examples.{lang}")) for lang in LANGS if has(f"examples.{lang}")}
    if examples:
        changed |= set_examples(node, examples)
    if has("sources"):
        changed |= set_list(node, "sources", lines(value("sources")))
    if has("reviewed"):
        changed |= set_date(node, "reviewed", value("reviewed"))
    if has("summary"):
        changed |= set_scalar(node, "summary", value("summary").strip())
    if has("queue"):
        changed |= set_scalar(node, "queue", value("queue"))
    if has("priority"):
        priority = value("priority")
        if "priority" in node or priority != "normal":
            changed |= set_scalar(node, "priority", priority)
    if "feedback-shown" in form and "feedback" in allowed:  # a checkbox: absent from the form when unticked
        changed |= set_bool(node, "feedback", "feedback" in form, True)
    return changed


def setup(app: web.Application, editor: Editor) -> None:
    r = app.router
    flow, node = f"{{flow:{FLOW_RE}}}", f"{{node:{FLOW_RE}}}"
    r.add_get("/console/flows", editor.index)
    r.add_get(f"/console/flows/f/{flow}", editor.flow)
    r.add_post(f"/console/flows/f/{flow}", editor.flow_save)
    r.add_post(f"/console/flows/f/{flow}/n/{node}", editor.node_save)
    r.add_get(f"/console/flows/f/{flow}/yaml", editor.yaml_page)
    r.add_post(f"/console/flows/f/{flow}/yaml", editor.yaml_save)
    r.add_get("/console/flows/settings", editor.yaml_page)
    r.add_post("/console/flows/settings", editor.yaml_save)
    r.add_post("/console/flows/discard", editor.discard)
    r.add_get("/console/flows/changes", editor.draft_diff)
    r.add_post("/console/flows/publish", editor.publish)
    r.add_get("/console/flows/history", editor.history)
    r.add_get("/console/flows/history/{number:\\d+}", editor.version)
    r.add_post("/console/flows/history/{number:\\d+}/rollback", editor.rollback)
    r.add_post("/console/flows/history/{number:\\d+}/cancel", editor.cancel)
    r.add_get("/console/flows/preview", editor.preview)
    r.add_post("/console/flows/preview", editor.preview_send)
    r.add_get("/console/flows/texts.{kind:csv|xlsx}", editor.texts_export)
    r.add_post("/console/flows/texts", editor.texts_import)
    r.add_get("/console/flows/unanswered", editor.unanswered_page)
    r.add_post("/console/flows/unanswered", editor.unanswered_act)
    r.add_get("/console/audit", editor.audit)
