"""Free-text understanding: normalisation word by word, language and script detection, urgent patterns,
FAQ decisions and their thresholds, and the engine acting on typed questions (real flows)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.engine import CLARIFY_KEY
from bot.core.normalize import skeleton
from bot.core.understanding import Understanding
from bot.core.understanding import thresholds as th
from bot.core.understanding.lookalike import lookalike
from bot.core.understanding.urgent import urgent
from bot.flowspec import FlowSet
from tests.test_engine import Chat as EngineChat

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


# -- normalisation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variants", [
    ["toʻlayman", "to'layman", "to`layman", "to‘layman", "to’layman", "tolayman", "тўлайман", "ТЎЛАЙМАН"],
    ["qanday", "қандай", "kandai", "QANDAY"],
    ["oʻzbekiston", "o'zbekiston", "ўзбекистон", "uzbekiston"[:0] + "ozbekiston"],
    ["ҳуҷҷат", "хуччат", "huchchat"],
    ["шиносномаи", "shinosnomai", "winosnomai"],
    ["мөөнөтү", "моонотү", "монотү", "moonotu"],
    ["чӣ", "чи", "chi", "4i"],
    ["что", "chto", "4to", "шhto"[:0] + "chto"],
    ["дешевле", "deshevle", "de6evle", "dewevle"],
    ["задержала", "zaderzhala", "zaderjala"],
    ["полиция", "policiya", "politsiya", "politsiia", "ПОЛИЦИЯ"],
    ["регистрация", "registratsiya", "registraciya", "registracia", "регистратсия"],
    ["хозяин", "xozyain", "hozyain", "khozyain"],
    ["помогите", "помогитеее", "pomogiteee"],
    ["вызвать", "vyzvat", "vizvat"],
    ["мигрантам", "мигрантам!!!", "«мигрантам»"],
    ["қайд", "кайд", "qayd"],
    ["ёрдам", "yordam"],
])
def test_skeleton_makes_spellings_of_one_word_equal(variants: list[str]) -> None:
    assert len({skeleton(v) for v in variants}) == 1, {v: skeleton(v) for v in variants}


@pytest.mark.parametrize(("text", "expected"), [
    ("5го числа", "5 go čisla"),
    ("  Патент,  2026!!  ", "patent 2026"),
    ("ﬁ", "fi"),  # compatibility forms
    ("Ｐａｔｅｎｔ", "patent"),  # full-width letters
])
def test_skeleton_numbers_punctuation_and_unicode_forms(text: str, expected: str) -> None:
    assert skeleton(text) == expected


def test_different_words_stay_different() -> None:
    assert skeleton("патент") != skeleton("паспорт")
    assert skeleton("qachon") != skeleton("qanday")


# -- language and script ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def understanding(flows: FlowSet) -> Understanding:
    return Understanding.for_flows(flows)


@pytest.mark.parametrize(("text", "lang", "script"), [
    ("когда платить за патент", "ru", "Cyrl"),
    ("где сделать медкомиссию", "ru", "Cyrl"),
    ("kogda platit za patent", "ru", "Latn"),
    ("4to delat esli poteryal pasport", "ru", "Latn"),
    ("patentni qachon to'lash kerak", "uz", "Latn"),
    ("patentni qachon tolash kerak", "uz", "Latn"),
    ("registratsiyani qayerda qilaman", "uz", "Latn"),
    ("патентни қачон тўлаш керак", "uz", "Cyrl"),
    ("патентни качон тулаш керак", "uz", "Cyrl"),
    ("патентро кай пардохт кунам", "tg", "Cyrl"),
    ("патентро кай пардохт кунам чӣ кор кунам", "tg", "Cyrl"),
    ("хуччатхо барои патент чи лозим", "tg", "Cyrl"),
    ("патентти качан төлөш керек", "ky", "Cyrl"),
    ("патентти качан толош керек", "ky", "Cyrl"),
    ("каттоого ким коёт", "ky", "Cyrl"),
])
def test_language_and_script_of_short_messages(understanding: Understanding, text: str, lang: str,
                                               script: str) -> None:
    guess = understanding.detect(text)
    assert guess is not None and (guess.lang, guess.script) == (lang, script), guess


def test_no_letters_no_language(understanding: Understanding) -> None:
    assert understanding.detect("12.03.2026") is None
    assert understanding.detect("?!") is None


def test_a_chosen_language_tips_a_close_call(understanding: Understanding) -> None:
    plain = understanding.detect("Патент")
    assert plain is not None and plain.confidence < th.LANG_SET  # one shared word: not sure
    chosen = understanding.detect("Патент", prior="tg")
    assert chosen is not None and chosen.lang == "tg"


# -- urgent patterns -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("меня задержала полиция", "detained"),
    ("menya zaderzhala policiya", "detained"),
    ("meni politsiya ushlab qoldi", "detained"),
    ("маро полис боздошт кард", "detained"),
    ("мени полиция кармады", "detained"),
    ("работодатель забрал паспорт и не отдаёт", "passport"),
    ("ish beruvchi pasportimni olib qo'ydi bermayapti", "passport"),
    ("корфармо шиносномаамро гирифт намедиҳад", "passport"),
    ("кожоюн паспортумду алып алды бербейт", "passport"),
    ("нас заперли на объекте и не выпускают", "trafficking"),
    ("три месяца не платят зарплату", "wages"),
    ("ikki oydan beri maosh bermayapti", "wages"),
    ("ду моҳ музд намедиҳанд", "wages"),
    ("эки айдан бери айлык бербей жатат", "wages"),
    ("муж избил меня", "violence"),
    ("бригадир меня ударил", "violence"),
    ("шавҳарам маро мезанад", "violence"),
    ("пришло решение о выдворении", "expulsion"),
    ("меня внесли в реестр контролируемых лиц", "expulsion"),
    ("kartam bloklandi reestr", "expulsion"),
    ("не хочу жить", "suicide"),
    ("yashagim kelmayapti", "suicide"),
    ("человек без сознания на стройке", "medical"),
    ("ishchi yiqilib hushidan ketdi", "medical"),
    ("просрочено рвп что делать", "legal"),
    ("vnj muddati tugadi nima qilay", "legal"),
])
def test_urgent_patterns_in_four_languages(text: str, category: str) -> None:
    hit = urgent(skeleton(text))
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize("text", [
    "как получить рвп",  # getting a residence permit has its own answer; an expired one goes to a person
    "когда платить за патент",
    "я потерял паспорт, как восстановить",  # lost, not taken
    "не оплатил патент вовремя",  # the patent payment, not wages
    "что такое реестр контролируемых лиц",  # a question about the register, not an entry in it
    "politsiyaga borishim kerakmi",
    "телефони полис чанд аст",
    "заработная плата для патента какая нужна"[:0] + "сколько стоит патент в москве",
    "чекҳои патентро нигоҳ доштан лозим?",
])
def test_ordinary_questions_are_not_urgent(text: str) -> None:
    assert urgent(skeleton(text)) is None


# -- decisions -------------------------------------------------------------------------------------

def test_thresholds_are_ordered() -> None:
    assert 0 < th.TOPIC_GUESS < th.CLARIFY < th.ANSWER < th.SURE < 1
    assert 0 < th.SIBLING_MARGIN < th.MARGIN < 1 and 0 < th.CLARIFY_SPREAD < 1
    assert th.LANG_SET <= th.LANG_SWITCH


@pytest.mark.parametrize(("text", "node"), [
    ("patent pulini qanday to'layman karta orqali", "patent.payment_how"),
    ("оплатил патент на день позже что делать", "patent.lost_missed_payment"),
    ("патентро кай пардохт кунам", "patent.payment_when"),
    ("кыргыздарга патент керекпи", "patent.kg_no_patent"),
])
def test_confident_answers(understanding: Understanding, text: str, node: str) -> None:
    analysis = understanding.analyse(text)
    # an answer that depends on the citizenship asks for it first, then gives `want`
    assert (analysis.action, analysis.want or analysis.node) == ("answer", node), analysis.ranked
    assert analysis.confidence >= th.ANSWER


def test_urgent_before_faq_and_escalating_answers(understanding: Understanding) -> None:
    analysis = understanding.analyse("menya zaderzhala policiya")
    assert (analysis.action, analysis.node, analysis.topic) == ("handoff", "urgent.detained", "handoff_needed")
    assert understanding.escalates("urgent.detained") and understanding.escalates("health.hiv_tb")
    assert not understanding.escalates("patent.payment_when")


def test_close_call_offers_up_to_three_options(understanding: Understanding) -> None:
    analysis = understanding.analyse("регистрация", profile={"citizenship": "uz"})  # one word: several answers
    assert analysis.action == "clarify"
    assert 1 <= len(analysis.options) <= th.CLARIFY_OPTIONS
    assert "registration.deadline_uz" in analysis.options  # the Uzbek variant, never another one
    assert not {"registration.deadline_tj", "registration.deadline_kg"} & set(analysis.options)


def test_variants_of_one_answer_are_one_question(understanding: Understanding) -> None:
    """The price by region is one question: asked for what it depends on, answered for the person."""
    analysis = understanding.analyse("сколько стоит патент")
    assert (analysis.action, analysis.topic) == ("answer", "patent_cost_region")
    assert (analysis.node, analysis.asks) == ("patent.ask_cit_cost", "citizenship")
    # the price is calculated for the region: any price answer is entered through the region question and
    # the calculator (FlowSet.typed_entry), so the region is not one of the variants here
    analysis = understanding.analyse("сколько стоит патент", profile={"citizenship": "uz"})
    assert (analysis.node or "").startswith("patent.cost_") and analysis.asks is None
    analysis = understanding.analyse("сколько стоит патент", profile={"citizenship": "uz", "region": "spb"})
    assert analysis.action == "answer" and (analysis.node or "").startswith("patent.cost_")
    analysis = understanding.analyse("сколько стоит патент", profile={"citizenship": "kg", "region": "spb"})
    assert (analysis.action, analysis.node) == ("answer", "patent.kg_no_patent")  # EAEU: no patent


@pytest.mark.parametrize(("text", "profile", "node", "said"), [
    ("мы с Таджикистана, через сколько дней регистрация?", {}, "registration.deadline_tj", {"citizenship": "tj"}),
    ("я кыргыз, сколько дней можно без регистрации", {"citizenship": "uz"}, "registration.deadline_kg",
     {"citizenship": "kg"}),
    ("как продлить патент", {"citizenship": "kg"}, "patent.renewal_kg", {}),
])
def test_citizenship_and_region_said_in_the_message_count(understanding: Understanding, text: str,
                                                          profile: dict[str, str], node: str,
                                                          said: dict[str, str]) -> None:
    analysis = understanding.analyse(text, profile=profile)
    assert (analysis.action, analysis.node, dict(analysis.facts)) == ("answer", node, said), analysis.ranked


@pytest.mark.parametrize("text", [
    "как запатентовать изобретение", "какой сейчас курс рубля к доллару", "ixtiroga patent olish", "қурби рубл чанд",
    "доллардын курсу канча",
    # look-alikes by what they are about, whatever our words around them say
    "подскажите как поставить машину на учет в гибдд, я гражданин Кыргызстана",
    "mashinamni Rossiyaga olib keldim, bojxonadan qanday o'tkazaman",
    "мошинамро аз Тоҷикистон овардам, дар гумрук чӣ хел мегузаронам",
    "машинамды Кыргызстандан алып келдим, учетко коюш керекпи",
    "хочу получить права в России, где пройти медкомиссию", "prava olish uchun medkomissiya qayerda",
    "барои гирифтани права медкомиссия куҷост", "айдоочулук күбөлүк алуу үчүн медкомиссия кайда",
    "регистрация на рейс Москва Душанбе онлайн как пройти", "poezdga bilet qanday olaman registratsiya kerakmi",
])
def test_look_alikes_that_are_not_ours(understanding: Understanding, flows: FlowSet, text: str) -> None:
    analysis = understanding.analyse(text)
    assert (analysis.action, analysis.topic, analysis.node) == ("none", "out_of_scope", "main.not_ours")
    chat = Chat(flows, lang="ru")
    chat.send("/menu")
    chat.send(text)
    assert chat.nodes == ["main.not_ours", "main.menu"] and chat.turn and chat.turn.unanswered is not None
    assert chat.turn.unanswered.topic == "out_of_scope"  # kept for the editors, marked as not ours
    assert not any(b.payload.startswith("m:") for r in chat.turn.replies for b in r.buttons)  # no guesses


def test_what_sounds_like_a_look_alike_but_is_ours(flows: FlowSet) -> None:
    """No example of our own answers is taken for a look-alike, nor these questions of ours."""
    ours = [(n.key, e) for n in flows.nodes() if n.topic != "out_of_scope" for items in n.examples.values()
            for e in items]
    assert len(ours) > 5000
    assert [(key, e) for key, e in ours if lookalike(skeleton(e))] == []
    for text in ("я работаю водителем такси, нужен ли патент", "прилетел вчера в Домодедово, как сделать регистрацию",
                 "права мигрантов на работе нарушают что делать", "GIBDD jarimalarim bor chegaradan o'tkazishadimi",
                 "taksida haydovchi bo'lib ishlayman patent kerakmi", "ба мошиншӯӣ кор мекунам, патент лозим аст?"):
        assert lookalike(skeleton(text)) is None, text


def test_no_confident_answer_out_of_scope(understanding: Understanding) -> None:
    for text in ("какая завтра погода", "расскажи анекдот", "ob-havo qanday bo'ladi", "football score today",
                 "где купить билет на поезд"):
        analysis = understanding.analyse(text)
        assert analysis.action != "answer", (text, analysis.ranked[:3])
    for text in ("расскажи анекдот", "football score today"):
        assert understanding.analyse(text).action == "none"


# -- the engine ------------------------------------------------------------------------------------

def Chat(flows: FlowSet, lang: str | None = None, **profile: object) -> EngineChat:
    return EngineChat(lang=lang, flows=flows, **profile)


def test_new_contact_typing_uzbek_gets_uzbek_notice_and_the_answer(flows: FlowSet) -> None:
    chat = Chat(flows)
    chat.send("patent pulini qanday to'layman karta orqali")
    assert (chat.profile.lang, chat.profile.script) == ("uz", "Latn")
    assert "help line for migrant workers" in chat.text  # the privacy notice, once
    assert chat.nodes == ["patent.ask_cit_payment"]  # the answer depends on the citizenship: asked once
    turn = chat.send("1")
    assert chat.profile.vars["citizenship"] == "uz" and chat.nodes == ["patent.payment_how"]
    assert turn.topic == "patent_payment" and "Did this help?" in chat.text
    assert chat.state.wait == "feedback"


def test_new_contact_in_cyrillic_uzbek_keeps_the_script(flows: FlowSet) -> None:
    chat = Chat(flows)
    chat.send("патентни қачон тўлаш керак")
    assert (chat.profile.lang, chat.profile.script) == ("uz", "Cyrl")


def test_new_contact_urgent_escalates_at_once(flows: FlowSet) -> None:
    chat = Chat(flows)
    turn = chat.send("menya zaderzhala policiya")
    assert chat.profile.lang == "ru"
    assert chat.nodes == ["urgent.detained", "urgent.detained_handoff"]
    assert turn.handoff is not None and turn.handoff.reason == "urgent" and turn.handoff.priority == "urgent"


def test_medical_emergency_gets_the_numbers_and_a_person(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    turn = chat.send("человек упал с лесов и без сознания")
    assert chat.nodes == ["urgent.medical", "urgent.medical_handoff"]
    assert "103" in chat.text and "112" in chat.text and turn.handoff is not None


def test_new_contact_greeting_or_number_still_gets_the_picker(flows: FlowSet) -> None:
    for text in ("hello", "9", "Патент"):
        chat = Chat(flows)
        chat.send(text)
        assert chat.nodes == ["language.pick"] and chat.profile.lang is None


def test_typed_question_inside_a_menu_is_not_an_invalid_option(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    chat.send("/menu")
    chat.send("1")
    assert chat.nodes == ["patent.menu"]
    chat.send("потерял патент, как получить дубликат")
    assert chat.nodes == ["patent.lost_duplicate"] and "didn't understand" not in chat.text


def test_inside_an_ask_only_input_that_fails_validation_is_understood(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    chat.profile.vars["citizenship"] = "uz"
    for line in ("/menu", "1", "4"):  # the payment-date calculator asks for the patent's issue date
        chat.send(line)
    assert chat.state.at == "patent.ask_issue_date", chat.nodes
    chat.send("10.03.2026")  # a valid date is an answer, not a question
    assert chat.state.at != "patent.ask_issue_date"


def test_ask_failing_validation_with_a_question_answers_it(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    chat.profile.vars["citizenship"] = "uz"
    for line in ("/menu", "1", "4"):
        chat.send(line)
    assert chat.state.at == "patent.ask_issue_date", chat.nodes
    chat.send("что будет если опоздал с оплатой патента на день")
    assert chat.nodes == ["patent.lost_missed_payment"]


def test_did_you_mean_by_button_and_by_number(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru", vars={"citizenship": "uz"})
    chat.send("/menu")
    chat.send("регистрация")
    assert chat.state.wait == "clarify"
    assert chat.turn is not None
    buttons = chat.turn.replies[-1].buttons
    offered = chat.state.vars[CLARIFY_KEY]
    assert [b.payload for b in buttons] == [f"m:{n}" for n in offered] + ["x:mediator"]
    chat.send(payload=buttons[0].payload)
    assert chat.nodes == [offered[0]] and CLARIFY_KEY not in chat.state.vars
    chat.send("/menu")
    chat.send("регистрация")
    chat.send("2")
    assert chat.nodes == [chat.state.at] and chat.state.at == offered[1]
    chat.send("/menu")
    chat.send("регистрация")
    turn = chat.send(str(len(offered) + 1))  # the last number: a person
    assert turn.handoff is not None and turn.handoff.reason == "not_understood"


def test_no_match_is_stored_for_editors_and_two_misses_offer_a_person(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    chat.send("/menu")
    turn = chat.send("расскажи анекдот про кота")
    assert "didn't understand" in chat.text and chat.nodes == ["main.menu"]
    assert turn.unanswered is not None
    assert turn.unanswered.text == "расскажи анекдот про кота" and turn.unanswered.lang == "ru"
    assert turn.unanswered.script == "Cyrl"
    turn = chat.send("ывапр олдж фыва")  # nothing anyone could understand (a question not ours is answered so)
    assert turn.unanswered is not None and chat.state.wait == "offer"
    assert [b.payload for b in chat.turn.replies[-1].buttons] == ["x:mediator", "x:menu"]  # type: ignore[union-attr]


def test_a_confident_other_language_is_offered_not_forced(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru", vars={"citizenship": "tj"})
    chat.send("/menu")
    chat.send("патентро кай пардохт кунам")
    assert chat.profile.lang == "ru"  # not forced
    assert chat.turn is not None
    offer = chat.turn.replies[0]
    assert [b.payload for b in offer.buttons] == ["l:tg"]
    assert "patent.payment_when" in chat.nodes or "patent.payment_how" in chat.nodes
    chat.send(payload="l:tg")
    assert chat.profile.lang == "tg"
    assert chat.nodes and chat.nodes[0].startswith("patent.payment")  # the answer again, in Tajik


def test_menu_numbers_and_keywords_still_work(flows: FlowSet) -> None:
    chat = Chat(flows, lang="uz")
    chat.send("/menu")
    chat.send("1")
    assert chat.nodes == ["patent.menu"]
    chat.send("menyu")
    assert chat.nodes == ["main.menu"]


def test_did_you_mean_without_a_profile_names_the_question_not_a_variant(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru")
    chat.send("/menu")
    chat.send("регистрация")
    assert chat.state.wait == "clarify" and chat.turn is not None
    labels = [b.label for b in chat.turn.replies[-1].buttons]
    assert "Срок регистрации" in labels and not any(":" in label for label in labels)
    offered = chat.state.vars[CLARIFY_KEY]
    chat.send(str(labels.index("Срок регистрации") + 1))
    assert chat.nodes == ["registration.deadline_citizenship"]  # asked once, then the answer
    chat.send("я из Кыргызстана")
    assert chat.nodes == ["registration.deadline_kg"] and chat.profile.vars["citizenship"] == "kg"
    assert any(n.startswith("registration.deadline_") for n in offered)


def test_two_questions_in_one_message_answer_the_first_and_offer_the_second(flows: FlowSet) -> None:
    chat = Chat(flows, lang="ru", vars={"citizenship": "tj"})
    chat.send("/menu")
    chat.send("Как оплатить патент картой? И ещё: сколько дней на регистрацию у таджиков?")
    assert chat.nodes == ["registration.deadline_tj"] and chat.turn is not None
    buttons = chat.turn.replies[-1].buttons
    assert [b.payload for b in buttons][:2] == ["f:yes", "f:no"] and buttons[-1].payload == "m:patent.payment_how"
    chat.send(payload="m:patent.payment_how")
    assert chat.nodes == ["patent.payment_how"]  # the citizenship is known: answered at once


@pytest.mark.parametrize(("text", "facts"), [
    ("мы с Таджикистана", {"citizenship": "tj"}),
    ("я таджичка, сколько дней на регистрацию", {"citizenship": "tj"}),
    ("Xo'janddan keldim", {"citizenship": "tj"}),
    ("Ош шаарынан келдим", {"citizenship": "kg"}),
    ("Qozonda ishlayman", {"region": "tatarstan"}),
    ("я кыргыз, работаю в Питере", {"citizenship": "kg", "region": "spb"}),
    ("O‘zbekistondan keldim, Moskva viloyatida yashayman", {"citizenship": "uz", "region": "moscow_oblast"}),
    ("тоҷик ҳастам, дар Маскав кор мекунам", {"citizenship": "tj", "region": "moscow"}),
    ("Бишкектен келдим, Пермде иштейм", {"citizenship": "kg", "region": "perm"}),
    ("узбек и таджик вместе снимаем квартиру в Москве и Казани", {}),  # two of each: nothing is clear
    ("osh yedim", {}),
])
def test_citizenship_and_region_in_every_script(text: str, facts: dict[str, str]) -> None:
    from bot.core.normalize import skeleton
    from bot.core.understanding.profile import said

    assert said(skeleton(text)) == facts


def test_new_uzbek_latin_and_turkish_keyboards_meet_the_usual_spelling() -> None:
    from bot.core.normalize import skeleton

    assert skeleton("Patentni qança tóleyman, çek kerakmi? Iş joyim") == \
        skeleton("Patentni qancha toʻleyman, chek kerakmi? Ish joyim")
