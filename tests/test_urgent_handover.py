"""A message in crisis, a detention, a nosebleed that won't stop and "a person, please" said in a sentence
each reach a person at once, in the four languages, inside and outside office hours: the safety text comes
first, urgent cases go to the front of the queue, and outside hours the migrant is told when a person will
answer (the flow text says what to do meanwhile)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import Catalogs
from bot.service import ConversationService
from tests.conftest import Clock
from tests.handoff_kit import add_staff, conversation, make_handoff, say

HOURS = "Mon-Fri 09:00-18:00"
OPEN = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # Friday 12:00 in Moscow
CLOSED = dt.datetime(2026, 3, 20, 20, 30, tzinfo=dt.UTC)  # Friday 23:30 in Moscow

# kind -> language -> (what the migrant types, the nodes shown, what the text must say)
CASES: dict[str, dict[str, tuple[str, list[str], list[str]]]] = {
    "crisis": {
        "ru": ("мне так плохо, я больше не хочу жить", ["urgent.crisis", "urgent.crisis_handoff"], ["051", "112"]),
        "uz": ("hammasi yomon, yashagim kelmayapti", ["urgent.crisis", "urgent.crisis_handoff"], ["051", "112"]),
        "tg": ("дигар зиндагӣ кардан намехоҳам", ["urgent.crisis", "urgent.crisis_handoff"], ["051", "112"]),
        "ky": ("эч нерсе болбой жатат, жашагым келбейт", ["urgent.crisis", "urgent.crisis_handoff"], ["051", "112"]),
    },
    "detained": {
        "ru": ("меня задержали у метро, держат в отделе", ["urgent.detained", "urgent.detained_handoff"],
               ["Не подписывайте", "112"]),
        "uz": ("meni politsiya ushlab oldi, bo'limda o'tiribman", ["urgent.detained", "urgent.detained_handoff"],
               ["imzo qoʻymang", "112"]),
        "tg": ("маро полис боздошт кард", ["urgent.detained", "urgent.detained_handoff"], ["имзо нагузоред", "112"]),
        "ky": ("мени полиция кармап кетти, бөлүмдө отурам", ["urgent.detained", "urgent.detained_handoff"],
               ["кол койбоңуз", "112"]),
    },
    "nosebleed": {
        "ru": ("у сына кровь из носа не останавливается уже полчаса", ["urgent.medical", "urgent.medical_handoff"],
               ["103", "112"]),
        "uz": ("ukamning burnidan qon ketyapti, to'xtamayapti", ["urgent.medical", "urgent.medical_handoff"],
               ["103", "112"]),
        "tg": ("хуни бинии писарам бас намешавад", ["urgent.medical", "urgent.medical_handoff"], ["103", "112"]),
        "ky": ("балдардын биринин мурдунан кан агып токтобой жатат", ["urgent.medical", "urgent.medical_handoff"],
               ["103", "112"]),
    },
    "person": {
        "ru": ("пожалуйста, можно поговорить с живым человеком", ["main.mediator"], ["112"]),
        "uz": ("iltimos, odam bilan gaplashmoqchiman", ["main.mediator"], ["112"]),
        "tg": ("лутфан маро бо одам пайваст кунед", ["main.mediator"], ["112"]),
        "ky": ("суранам, адам менен сүйлөшкүм келет", ["main.mediator"], ["112"]),
    },
}
# where each kind waits: (queue, priority)
ROUTE = {"crisis": ("general", "urgent"), "detained": ("legal", "urgent"), "nosebleed": ("medical", "urgent"),
         "person": ("general", "normal")}
PARAMS = [(kind, lang, when) for kind in CASES for lang in CASES[kind] for when in ("open", "closed")]


@pytest.mark.parametrize(("kind", "lang", "when"), PARAMS)
async def test_reaches_a_person_inside_and_outside_office_hours(
        db: AsyncEngine, service: ConversationService, catalogs: Catalogs, clock: Clock,
        kind: str, lang: str, when: str) -> None:
    handoff = make_handoff(service, catalogs, hours=HOURS)
    clock.now = OPEN if when == "open" else CLOSED
    text, nodes, says = CASES[kind][lang]
    user = f"{kind}-{lang}-{when}"
    await say(service, user, "/start", lang=lang)
    result = await say(service, user, text, lang=lang)
    shown = "\n".join(r.text for r in result.replies)
    assert result.status == "WAITING", shown
    assert [r.node for r in result.replies if r.node] == nodes, shown
    for part in says:
        assert part in shown, (part, shown)
    row = await conversation(db, result.conversation_id)
    assert (row.queue, row.priority) == ROUTE[kind]
    outside = handoff.outside_hours(lang, "Cyrl" if lang != "uz" else "Latn", clock.now)
    assert (outside in shown) is (when == "closed"), shown


async def test_urgent_cases_go_before_a_calm_question(db: AsyncEngine, service: ConversationService,
                                                      catalogs: Catalogs, clock: Clock) -> None:
    handoff = make_handoff(service, catalogs, hours=HOURS)
    ana = await add_staff(db, "ana", languages=("ru", "tg"), skills=("general",))
    clock.now = CLOSED
    await say(service, "calm", "/start", lang="ru")
    calm = await say(service, "calm", "хочу поговорить с оператором", lang="ru")
    clock.advance(minutes=3)
    await say(service, "crisis", "/start", lang="tg")
    crisis = await say(service, "crisis", "намехоҳам зинда бошам", lang="tg")
    assert [c["id"] for c in await handoff.queue(ana)] == [crisis.conversation_id, calm.conversation_id]


async def test_not_sure_asks_one_question_and_one_tap_reaches_a_person(
        db: AsyncEngine, service: ConversationService, catalogs: Catalogs, clock: Clock) -> None:
    make_handoff(service, catalogs, hours=HOURS)
    clock.now = CLOSED
    await say(service, "unsure", "/start", lang="ru")
    asked = await say(service, "unsure", "помогите срочно, тут полиция", lang="ru")
    assert [r.node for r in asked.replies if r.node] == ["urgent.ask"]
    buttons = [b for r in asked.replies for b in r.buttons]
    assert len(buttons) == 2 and "человек" in buttons[0].label
    tapped = await say(service, "unsure", payload=buttons[0].payload, lang="ru")
    assert tapped.status == "WAITING" and [r.node for r in tapped.replies if r.node] == ["urgent.now"]
    assert (await conversation(db, tapped.conversation_id)).priority == "urgent"
