"""The patent price table in the console (roles editor and admin): every region's figures per year and the
yearly deflators, as the editor's draft has them, with the amount each gives; a form sets one region and
year (a coefficient and/or a published amount, with its source, date and confidence) or one year's
deflator. Changes go into the editor's draft like any flow edit and reach migrants when the draft is
published (now or at a given time), with history and rollback; a change that would not check is refused
and nothing is saved."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.console.editor import Editor
from bot.console.i18n import L_
from bot.core import patent_prices
from bot.flows_db.prices_edit import figures, set_deflator, set_price, year_of
from bot.flows_db.yamledit import EditError
from bot.flowspec import prices
from bot.flowspec.regions import OTHER, region_ids

ROUTE = "/console/flows/prices"


class PricesPage:
    def __init__(self, editor: Editor):
        self.editor = editor

    async def page(self, request: web.Request) -> web.Response:
        me = self.editor.me(request)
        work = await self.editor.working(me)
        checked = await self.editor.check(work.files)
        data = checked.flowset.prices
        table = patent_prices.table(data)
        year = self.editor.today().year
        rows: list[dict[str, Any]] = []
        for region, entries in data.prices:
            for y, entry in sorted(entries, reverse=True):
                rows.append({"region": region, "name": table.regions[region].names["ru"], "year": y, "entry": entry,
                             "formula": data.by_formula(region, y)})
        return self.editor.render(
            "editor_prices.html", request, work=work, rows=rows, deflators=data.deflators, base=data.base,
            regions=[(r, table.regions[r].names["ru"]) for r in region_ids() if r != OTHER],
            confidences=prices.CONFIDENCES, year=year, problems=checked.in_file(prices.FILE),
            missing_deflator=data.deflator(year) is None)

    async def save(self, request: web.Request) -> web.Response:
        me = self.editor.me(request)
        form = {k: str(v) for k, v in (await request.post()).items()}
        work = await self.editor.working(me)
        text = work.files.get(prices.FILE)
        try:
            year = year_of(form.get("year", ""))
            given = figures(form)
            if form.get("kind") == "deflator":
                new, what = set_deflator(text, year, given), f"deflator {year}"
            else:
                region = form.get("region", "")
                if region not in region_ids() or region == OTHER:
                    raise EditError("region: choose one of the 89 regions")
                new, what = set_price(text, region, year, given), f"{region} {year}"
        except EditError as exc:
            await self.editor.flash(request, L_("Not saved: %(why)s"), why=str(exc))
            raise web.HTTPSeeOther(ROUTE) from None
        if new != text:
            await self.editor.save_file(me, work, prices.FILE, new)
        await self.editor.flash(request, L_("Saved %(what)s in your draft; publish it from the flows page."), what=what)
        raise web.HTTPSeeOther(ROUTE)


def setup(app: web.Application, page: PricesPage) -> None:
    app.router.add_get(ROUTE, page.page)
    app.router.add_post(ROUTE, page.save)
