"""`hotline`: the command line of the hotline."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import ValidationError, get_settings, problems
from bot.vocabulary import LANG_CHOICES

if TYPE_CHECKING:
    from bot.core.understanding import Understanding


def _flows_check(args: argparse.Namespace) -> int:
    from bot.flowspec import check_dir

    directory = Path(args.dir) if args.dir else get_settings().flows_dir
    flowset, problems = check_dir(directory)
    errors = [p for p in problems if not p.warning]
    for problem in problems:
        print(problem, file=sys.stderr if not problem.warning else sys.stdout)
    if errors:
        print(f"{len(errors)} problem(s) in {directory}", file=sys.stderr)
        return 1
    nodes = sum(len(f.nodes) for f in flowset.flows.values())
    print(f"ok: {len(flowset.flows)} flows, {nodes} nodes in {directory}")
    if args.scheduled and _check_scheduled():
        print("a scheduled version fails the checks", file=sys.stderr)
        return 1
    return 0


def _flows_diagram(args: argparse.Namespace) -> int:
    from bot.flowspec import FlowError, load
    from bot.flowspec.diagram import mermaid

    directory = Path(args.dir) if args.dir else get_settings().flows_dir
    try:
        flowset = load(directory)
    except FlowError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.flow not in flowset.flows:
        print(f"no flow '{args.flow}'; flows: {', '.join(sorted(flowset.flows))}", file=sys.stderr)
        return 1
    print(mermaid(flowset, args.flow), end="")
    return 0


def _flows_import(args: argparse.Namespace) -> int:
    """Publish a directory of flow files as a new version (refused with the located problems)."""
    import getpass

    from bot.flows_db.publisher import FlowPublisher, Refused, Unchanged, local_time
    from bot.flows_db.store import FlowStore, read_dir
    from bot.flowspec import check_dir
    from bot.runtime import database, events_for

    directory = Path(args.dir)
    _, problems = check_dir(directory)  # exactly what `hotline flows check` says
    files, unreadable = read_dir(directory)
    errors = [p for p in problems + unreadable if not p.warning]
    if errors:
        for problem in errors:
            print(problem, file=sys.stderr)
        print(f"{len(errors)} problem(s) in {directory}; nothing was imported", file=sys.stderr)
        return 1
    where = str(directory.resolve())

    async def run() -> int:
        settings = get_settings()
        db = await database(settings)
        events = events_for(settings) if settings.redis_url else None
        if events is not None:  # running hotlines switch at once rather than at their next look
            try:
                await events.start()
            except Exception as exc:  # they still switch at their next look
                print(f"(could not announce it through Redis: {exc})", file=sys.stderr)
                events = None
        try:
            at = local_time(args.at, settings.office_timezone) if args.at else None
            version = await FlowPublisher(FlowStore(db), events=events).import_files(
                files, f"command line ({getpass.getuser()})", args.note or f"imported from {directory}",
                {"directory": where}, at=at)
        except Unchanged as exc:
            print(exc)
            return 0
        except Refused as exc:
            print(f"{exc}\nnothing was imported", file=sys.stderr)
            return 1
        finally:
            if events is not None:
                await events.close()
            await db.dispose()
        if version.effective_at is not None:
            print(f"scheduled as version {version.number}: {len(files)} files from {directory}; running hotlines "
                  f"switch to it at {_local(version.effective_at, settings.office_timezone)}")
        else:
            print(f"published as version {version.number}: {len(files)} files from {directory}; "
                  "running hotlines switch to it within seconds")
        return 0

    return asyncio.run(run())


def _local(when: dt.datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(zone)).strftime(f"%Y-%m-%d %H:%M ({zone})")


def _check_scheduled() -> int:
    """The versions waiting for their time, each through the checks of `flows check`; the number failing."""
    from bot.flows_db.store import FlowStore, errors, validate
    from bot.runtime import database

    settings = get_settings()

    async def run() -> int:
        db = await database(settings)
        try:
            waiting = await FlowStore(db).scheduled()
        finally:
            await db.dispose()
        if not waiting:
            print("no version is scheduled")
        failing = 0
        for version in waiting:
            assert version.effective_at is not None and version.files is not None
            _, problems = await asyncio.to_thread(validate, version.files)
            found = errors(problems)
            failing += bool(found)
            print(f"version {version.number}: takes effect {_local(version.effective_at, settings.office_timezone)}"
                  f" · {version.author} · {version.note} · "
                  + (f"{len(found)} problem(s)" if found else "checks pass"))
            for problem in found:
                print(f"  {problem}", file=sys.stderr)
        return failing

    return asyncio.run(run())


def _flows_scheduled(args: argparse.Namespace) -> int:
    """List the scheduled versions, checked; 1 when one fails the checks (it would not be served)."""
    return 1 if _check_scheduled() else 0


def _flows_cancel(args: argparse.Namespace) -> int:
    import getpass

    from bot.flows_db.publisher import FlowPublisher, Refused
    from bot.flows_db.store import FlowStore
    from bot.runtime import database

    async def run() -> int:
        db = await database(get_settings())
        try:
            await FlowPublisher(FlowStore(db)).cancel(args.version, None, f"command line ({getpass.getuser()})")
        except Refused as exc:
            print(exc, file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print(f"version {args.version} cancelled: it will not take effect")
        return 0

    return asyncio.run(run())


def _flows_export(args: argparse.Namespace) -> int:
    """Write the published version's files (or --version N's) byte for byte into a directory."""
    from bot.flows_db.store import FlowStore, Version, write_dir
    from bot.runtime import database

    async def run() -> Version | None:
        db = await database(get_settings())
        try:
            store = FlowStore(db)
            return await (store.get(args.version) if args.version else store.latest())
        finally:
            await db.dispose()

    version = asyncio.run(run())
    if version is None or version.files is None:
        print("no such flow version in the database" if args.version else
              "no flow version in the database yet (`hotline flows import DIR` or start the hotline once)",
              file=sys.stderr)
        return 1
    removed = write_dir(Path(args.dir), version.files)
    print(f"version {version.number} ({version.status}): {len(version.files)} files written to {args.dir}"
          + (f"; removed {', '.join(removed)}" if removed else ""))
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal import run_chat
    from bot.flowspec import FlowError
    from bot.runtime import build

    async def chat() -> int:
        try:
            runtime = await build(get_settings(), mediators=False)
        except FlowError as exc:
            print(f"the flow files have errors:\n{exc}", file=sys.stderr)
            return 1
        try:
            return await run_chat(runtime.service, lang=args.lang, contact=args.contact)
        finally:
            await runtime.close()

    return asyncio.run(chat())


def _understanding(directory: str | None) -> Understanding | None:
    """The understanding layer over the flows (FLOWS_DIR unless given); None, with the problems printed,
    when the flows fail the checks."""
    from bot.core.understanding import Understanding
    from bot.flowspec import FlowError, load

    try:
        return Understanding.for_flows(load(Path(directory) if directory else get_settings().flows_dir))
    except FlowError as exc:
        print(exc, file=sys.stderr)
        return None


def _match(args: argparse.Namespace) -> int:
    import json

    from bot.core.understanding.evaluation import as_json

    u = _understanding(args.dir)
    if u is None:
        return 1
    profile: dict[str, str] = {}
    for item in _split(args.profile):
        name, _, value = item.partition("=")
        name, value = name.strip(), value.strip()
        domain = u.variants.domains.get(name)
        if domain is None or value not in domain:
            choices = "; ".join(f"{k}: {', '.join(v)}" for k, v in u.variants.domains.items())
            print(f"--profile: unknown {item!r} (the flows save {choices})", file=sys.stderr)
            return 2
        profile[name] = value
    questions = args.text if args.text else (line.rstrip("\n") for line in sys.stdin)
    for text in questions:
        if not text.strip():
            continue
        print(json.dumps(as_json(u, u.analyse(text, profile=profile)), ensure_ascii=False), flush=True)
    return 0


def _eval(args: argparse.Namespace) -> int:
    import csv

    from bot.core.understanding.evaluation import evaluate, given_topic

    try:
        with open(args.file, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    missing = {"lang", "script", "label", "text"} - set(rows[0] if rows else {})
    if missing:
        print(f"{args.file}: not a question set: needs the tab-separated columns lang, script, label, text "
              f"(missing: {', '.join(sorted(missing))})", file=sys.stderr)
        return 1
    u = _understanding(args.dir)
    if u is None:
        return 1
    report = evaluate(u, rows)
    print(f"{args.file}: {len(rows)} questions")
    print("\n".join(report.lines()))
    for title, rows_ in (("misses", report.misses), ("right but not confident", report.unsure)):
        if not rows_:
            continue
        print(f"\n{title} ({len(rows_)}): lang script | label -> action topic/node (confidence) | text")
        for row, a in rows_:
            got = given_topic(u, a) or "-"
            print(f"  {row['lang']} {row['script']:<15}| {row['label']} -> {a.action} {got} {a.node or ''} "
                  f"({a.confidence:.2f}) | {row['text']}")
    if report.lang_misses:
        print(f"\nlanguage misses ({len(report.lang_misses)}):")
        for row, a in report.lang_misses:
            print(f"  {row['lang']} -> {a.lang.lang if a.lang else '-'} | {row['text']}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.app import run_server

    return run_server()


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage.db import upgrade

    url = asyncio.run(upgrade(get_settings().db_url()))
    print(f"database is up to date: {url}")
    return 0


def _split(value: str | None) -> list[str]:
    return [x.strip() for x in (value or "").split(",") if x.strip()]


def _purge(args: argparse.Namespace) -> int:
    from bot.runtime import database, purge

    days = args.days if args.days is not None else get_settings().retention_days
    if days <= 0:
        print("nothing to do: set RETENTION_DAYS (or --days) to a number of days", file=sys.stderr)
        return 2

    async def run() -> int:
        db = await database(get_settings())
        try:
            counts = await purge(db, days)
        finally:
            await db.dispose()
        print(f"removed what is older than {days} days: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        return 0

    return asyncio.run(run())


def _users(args: argparse.Namespace) -> int:
    from bot.console.users import (
        UserError,
        add_user,
        disable_user,
        list_users,
        reset_password,
        set_languages,
        set_roles,
    )
    from bot.runtime import database

    async def run() -> int:
        db = await database(get_settings())
        try:
            if args.users_command == "add":
                password = sys.stdin.readline().strip() if args.password_stdin else None
                password = await add_user(db, args.login, name=args.name or "", roles=_split(args.roles),
                                          languages=_split(args.languages), skills=_split(args.skills),
                                          password=password)
                print(f"added {args.login}" + ("" if args.password_stdin else f"; password (shown once): {password}"))
            elif args.users_command == "list":
                for u in await list_users(db):
                    state = "active" if u.active else "disabled"
                    print(f"{u.login:<20} {','.join(u.roles):<24} {','.join(u.languages):<12} "
                          f"{','.join(u.skills):<22} {state}")
            elif args.users_command == "set-roles":
                await set_roles(db, args.login, _split(args.roles))
                print(f"{args.login}: roles {args.roles}")
            elif args.users_command == "set-languages":
                await set_languages(db, args.login, _split(args.languages))
                print(f"{args.login}: languages {args.languages}")
            elif args.users_command == "reset-password":
                given = sys.stdin.readline().strip() if args.password_stdin else None
                password = await reset_password(db, args.login, given)
                print(f"{args.login}: new password" + ("" if given else f" (shown once): {password}"))
            else:
                await disable_user(db, args.login)
                print(f"disabled {args.login}")
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        return 0

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="Migrant hotline")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web chat, /healthz and every channel whose credentials are set")
    serve.set_defaults(func=_serve)

    chat = sub.add_parser("chat", help="talk to the hotline in this terminal (reads lines from stdin)")
    chat.add_argument("--lang", choices=LANG_CHOICES, help="skip the language picker")
    chat.add_argument("--contact", help="continue as this contact (default: a new contact each run)")
    chat.set_defaults(func=_chat)

    flows = sub.add_parser("flows", help="flow files: check, diagram, import, export").add_subparsers(
        dest="flows_command", required=True)
    check = flows.add_parser("check", help="validate a flow directory (default: FLOWS_DIR)")
    check.add_argument("dir", nargs="?")
    check.add_argument("--scheduled", action="store_true",
                       help="also check the versions in the database scheduled to take effect later")
    check.set_defaults(func=_flows_check)
    diagram = flows.add_parser("diagram", help="print a Mermaid diagram of one flow")
    diagram.add_argument("flow")
    diagram.add_argument("--dir")
    diagram.set_defaults(func=_flows_diagram)
    flows_import = flows.add_parser("import", help="publish a directory of flow files as a new version "
                                                   "(checked first, as `flows check` does)")
    flows_import.add_argument("dir")
    flows_import.add_argument("--note", help="what changed, for the history (default: imported from DIR)")
    flows_import.add_argument("--at", help="take effect then, e.g. '2027-01-01 00:00' in OFFICE_TIMEZONE "
                                           "(default: at once)")
    flows_import.set_defaults(func=_flows_import)
    scheduled = flows.add_parser("scheduled", help="list the versions scheduled to take effect later, each "
                                                   "checked as `flows check` does")
    scheduled.set_defaults(func=_flows_scheduled)
    cancel = flows.add_parser("cancel", help="cancel a scheduled version before its time")
    cancel.add_argument("version", type=int)
    cancel.set_defaults(func=_flows_cancel)
    flows_export = flows.add_parser("export", help="write the published flow version's files into a directory")
    flows_export.add_argument("dir")
    flows_export.add_argument("--version", type=int, help="an earlier version's number (default: the published one)")
    flows_export.set_defaults(func=_flows_export)

    users = sub.add_parser("users", help="console accounts").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="create an account (prints a new password unless --password-stdin)")
    add.add_argument("login")
    add.add_argument("--name")
    add.add_argument("--roles", default="mediator", help="comma-separated: admin, editor, mediator, coordinator")
    add.add_argument("--languages", default="ru", help="comma-separated: ru, uz, tg, ky")
    add.add_argument("--skills", default="general", help="comma-separated: legal, medical, general")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    add.set_defaults(func=_users)
    users.add_parser("list", help="list the accounts").set_defaults(func=_users)
    disable = users.add_parser("disable", help="disable an account (it can no longer log in)")
    disable.add_argument("login")
    disable.set_defaults(func=_users)
    roles = users.add_parser("set-roles", help="replace an account's roles")
    roles.add_argument("login")
    roles.add_argument("roles", help="comma-separated: admin, editor, mediator, coordinator")
    roles.set_defaults(func=_users)
    languages = users.add_parser("set-languages", help="replace the languages a mediator answers in")
    languages.add_argument("login")
    languages.add_argument("languages", help="comma-separated: ru, uz, tg, ky")
    languages.set_defaults(func=_users)
    reset = users.add_parser("reset-password", help="give an account a new password (printed once unless "
                                                    "--password-stdin)")
    reset.add_argument("login")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    reset.set_defaults(func=_users)

    match = sub.add_parser("match", help="how free text is understood: one JSON object per question "
                           "(from the arguments, else one per line of stdin)")
    match.add_argument("text", nargs="*", help="questions (default: read lines from stdin)")
    match.add_argument("--json", action="store_true", help="JSON lines (the default and only format)")
    match.add_argument("--dir", help="flow directory (default: FLOWS_DIR)")
    match.add_argument("--profile", help="the contact's saved choices, e.g. citizenship=kg,region=spb "
                       "(default: none saved)")
    match.set_defaults(func=_match)

    evaluate = sub.add_parser("eval", help="score free-text understanding on a labelled TSV "
                              "(lang, script, label, text, source)")
    evaluate.add_argument("file")
    evaluate.add_argument("--dir", help="flow directory (default: FLOWS_DIR)")
    evaluate.set_defaults(func=_eval)

    purge = sub.add_parser("purge", help="remove message texts, sent messages, unanswered questions and inbox ids "
                           "older than RETENTION_DAYS (the rows that reports count stay)")
    purge.add_argument("--days", type=int, help="older than this many days (default: RETENTION_DAYS)")
    purge.set_defaults(func=_purge)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the migrations").set_defaults(func=_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ValidationError as exc:  # from get_settings(): a setting that cannot work
        print(f"configuration error:\n{problems(exc)}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
