"""The conversation engine: a pure function of (profile, state, inbound, flows, clock) to a Turn.

No I/O here: the service loads and saves, channels render. The engine decides what to say next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from babel.dates import format_date
from babel.numbers import format_decimal

from bot import payloads
from bot.core import calculators, patent_prices
from bot.core.calculators import Names, Phrase, Value
from bot.core.model import (
    LANG_CHOICES,
    Button,
    ConvState,
    HandoffRequest,
    Inbound,
    Profile,
    Reply,
    Turn,
    UnansweredQuestion,
    Wait,
)
from bot.core.normalize import clean, fold, option_number, skeleton
from bot.core.provenance import with_footer
from bot.core.texts import N_, Texts
from bot.core.translit import uz_latin_to_cyrillic
from bot.core.understanding import Analysis, Understanding
from bot.core.understanding import thresholds as th
from bot.core.understanding.profile import said
from bot.core.understanding.urgent import Urgent, urgent
from bot.flowspec.model import FlowSet, L10n, Node
from bot.payloads import Kind, Pressed
from bot.vocabulary import BABEL_LOCALES, UZ_CYRL, lang_script, uz_cyrillic

MAX_STEPS = 50  # nodes run without input in one turn; a guard against goto cycles
COMMANDS = {"/start": "start", "/menu": "menu", "/lang": "language", "/language": "language",
            "/operator": "mediator", "/help": "help", "/forget": "forget"}
DATE_RE = re.compile(r"^\s*(\d{1,4})[./\-\s](\d{1,2})[./\-\s](\d{1,4})\s*$")
PHONE_RE = re.compile(r"^\+?[\d\s\-()]{7,20}$")

# The bot's own strings (English source; catalogs in translations/).
T_PRIVACY = N_(
    "Hello! This is the help line for migrant workers: the patent, registration, health. When the bot "
    "can't help, a person (a mediator) who speaks your language answers.\n"
    "We keep your messages, your language, citizenship and region to answer you, and count "
    "consultations for reports without names. Only the help line's staff see the conversation.\n"
    "To delete your data, write /forget at any time."
)
T_DID_IT_HELP = N_("Did this help?")
T_YES = N_("Yes")
T_NO = N_("No")
T_GLAD = N_("Glad it helped.")
T_OFFER = N_("I'm sorry. A mediator, a person who speaks your language, can help you. "
             "Shall I pass the conversation to a mediator?")
T_TALK = N_("Talk to a person")
T_MAIN_MENU = N_("Main menu")
T_NOT_UNDERSTOOD = N_("Sorry, I didn't understand. Please choose one of the options or type its number.")
T_NOT_UNDERSTOOD_AGAIN = N_("I still don't understand, sorry. Would you like to talk to a person?")
T_STALE = N_("That button belongs to an earlier step. Here is where we are now:")
T_WELCOME_BACK = N_("Welcome back! Let's start again from the main menu.")
T_ASK_TEXT = N_("Please write your answer in words.")
T_ASK_NUMBER = N_("Please answer with a number.")
T_ASK_INTEGER = N_("Please answer with a whole number.")
_NUMBER_ERRORS = {"number": T_ASK_NUMBER, "integer": T_ASK_INTEGER}
T_ASK_RANGE = N_("Please answer with a number from %(min)s to %(max)s.")
T_ASK_DATE = N_("Please write the date as day.month.year, for example %(example)s.")
T_ASK_PAST = N_("That date is in the future. Please write a date that has already passed.")
T_ASK_FUTURE = N_("That date has already passed. Please write a date in the future.")
T_ASK_PHONE = N_("Please write the phone number with the country code, for example +7 999 123-45-67.")
T_ASK_CHOICE = N_("Please choose one of the options.")
T_ASK_GIVE_UP = N_("This question seems hard to answer here. A mediator can help you.")
T_HELP = N_(
    "How to use the help line:\n"
    "• choose a topic with the buttons or type its number;\n"
    "• or write your question in your own words;\n"
    "• write «menu» for the main menu, «operator» to talk to a person, «language» to change the "
    "language;\n"
    "• write /forget to delete your data."
)
T_FORGET_CONFIRM = N_("Delete all your messages and your data (language, citizenship, region)? "
                      "This cannot be undone.")
T_FORGET_YES = N_("Yes, delete")
T_FORGET_NO = N_("No, keep")
T_FORGET_KEPT = N_("Nothing was deleted.")
T_FORGET_DONE = N_("Your data has been deleted. If you write again, we will start from the beginning.")
T_MEDIA = N_("I can't read photos, documents or voice messages. A mediator can look at them.")
T_EMPTY = N_("Please write your question in words.")
T_NO_MATCH = N_("Sorry, I didn't understand the question and have no ready answer to it. I have passed it on "
                "to the people who write the answers. Choose a topic below, or write «operator» to talk to "
                "a person.")
T_DID_YOU_MEAN = N_("Did you mean one of these? Choose one, or talk to a person.")
# Written in the language the migrant typed in; each translation names its own language.
T_SWITCH = N_("You wrote in my language. Shall we continue in it?")
# the bot's own buttons: (label, payload)
TALK, MENU = (T_TALK, payloads.offer(True)), (T_MAIN_MENU, payloads.offer(False))
YES, NO = (T_YES, payloads.feedback(True)), (T_NO, payloads.feedback(False))
DELETE, KEEP = (T_FORGET_YES, payloads.forget(True)), (T_FORGET_NO, payloads.forget(False))
CLARIFY_KEY = "_clarify"  # conversation variable: the answers offered by "did you mean" (not a flow name)
# conversation variable: [answer, ask] - the answer a typed question asked for, given once the ask
# (citizenship, region: what the answer depends on) is answered
WANT_KEY = "_want"
SWITCH_KEY = "_switch_offered"  # conversation variable: a language switch was offered once already
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def encode_value(value: Value) -> Any:
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, Phrase):
        return {"phrase": [value.msgid, value.plural, value.n]}
    if isinstance(value, Names):
        return {"names": dict(value.by_lang)}
    return value


def decode_value(value: Any) -> Value:
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and "phrase" in value:
        msgid, plural, n = value["phrase"]
        return Phrase(msgid, plural, n)
    if isinstance(value, dict) and "names" in value:
        return Names(tuple(value["names"].items()))
    return value  # type: ignore[no-any-return]


def parse_date(text: str) -> dt.date | None:
    match = DATE_RE.match(text)
    if not match:
        return None
    a, b, c = match.groups()
    try:
        if len(a) == 4:
            return dt.date(int(a), int(b), int(c))
        year = int(c) + (2000 if len(c) == 2 else 0)
        return dt.date(year, int(b), int(a)) if len(c) in (2, 4) else None
    except ValueError:
        return None


class Engine:
    def __init__(self, flows: FlowSet, texts: Texts):
        self.flows = flows
        self.texts = texts
        # folded keyword -> kind, computed once: every message is checked against all of them
        self._keywords = {fold(word): kind for kind, per_lang in flows.settings.keywords.items()
                          for words in per_lang.values() for word in words}
        # "did this help?" and "delete your data?" answered in words, in any language
        # compared folded; a word that folds to nothing (👍, 👎) is compared as typed, or 👎 would be "yes"
        self.yes_words = _answer_words(flows.settings.yes_words)
        self.no_words = _answer_words(flows.settings.no_words)
        self.yes_or_no_words = self.yes_words | self.no_words
        # free-text understanding: built once per flow set, shared by every engine over it
        self.understanding = Understanding.for_flows(flows)
        picker = flows.node(flows.settings.language_picker) if flows.has(flows.settings.language_picker) else None
        # the picker's own words for each language (a typed "Тоҷикӣ" switches to Tajik)
        self.lang_labels = {o.value: next(iter(o.label.values())) for o in (picker.options if picker else [])
                            if o.value in LANG_CHOICES}
        self.lang_words = {fold(label): value for value, label in self.lang_labels.items()}

    def handle(self, profile: Profile, state: ConvState, inbound: Inbound, now: dt.datetime) -> Turn:
        # Copies, so the caller's objects stay as they were; variable values are replaced, never
        # changed in place, so copying the dicts is enough.
        run = _Run(self, dataclasses.replace(profile, vars=dict(profile.vars)),
                   dataclasses.replace(state, vars=dict(state.vars)), now)
        run.handle(inbound)
        return run.turn

    def keyword(self, text: str) -> str | None:
        """The global keyword kind (menu, mediator, language, help, forget) the whole text is."""
        command = text.strip().split("@")[0].lower()
        if command in COMMANDS:
            return COMMANDS[command]
        return self._keywords.get(fold(text)) if len(text) <= 60 else None


class _Run:
    """One turn in the making, read top to bottom: `handle` sorts the message (language first, urgent
    words, then a global keyword, a button or typed text); each of those has its table of handlers
    (KEYWORDS; BUTTONS by payload kind, bot/payloads.py; ANSWERS by what the conversation waits for,
    model.Wait); the flow runs in `enter`, one node at a time through NODES, by node type."""

    def __init__(self, engine: Engine, profile: Profile, state: ConvState, now: dt.datetime):
        self.engine, self.flows, self.now = engine, engine.flows, now
        self.turn = Turn(replies=[], profile=profile, state=state)
        self.context: str | None = state.at  # where the migrant was when the turn began
        self._analysis: Analysis | None = None  # the last free-text analysis of this turn

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        return self.turn.profile

    @property
    def state(self) -> ConvState:
        return self.turn.state

    @property
    def lang(self) -> str:
        return self.profile.lang or self.flows.settings.default_language

    def tr(self, message: str, **params: Any) -> str:
        text = self.engine.texts.gettext(self.lang, message)
        return text % params if params else text

    def say(self, text: str, buttons: tuple[Button, ...] = (), node: Node | None = None) -> None:
        if uz_cyrillic(self.profile.lang, self.profile.script):
            text = uz_latin_to_cyrillic(text)
            buttons = tuple(Button(uz_latin_to_cyrillic(b.label), b.payload) for b in buttons)
        self.turn.replies.append(Reply(text=text, buttons=buttons, node=node.key if node else None,
                                       topic=node.topic if node and node.type == "answer" else None))

    def pick(self, texts: L10n | None) -> str:
        if not texts:
            return ""
        return texts.get(self.lang) or texts.get(self.flows.settings.default_language) or next(iter(texts.values()))

    def var(self, name: str) -> Value | None:
        if name in self.state.vars:
            return decode_value(self.state.vars[name])
        if name in self.profile.vars:
            return decode_value(self.profile.vars[name])
        if name == "language":
            return self.profile.lang_choice
        return None

    def show(self, value: Value | None) -> str:
        locale = BABEL_LOCALES.get(self.lang, "ru")
        if isinstance(value, dt.date):
            return str(format_date(value, "d MMMM y", locale=locale))
        if isinstance(value, bool) or value is None:
            return ""
        if isinstance(value, int | float):
            return str(format_decimal(value, locale=locale))
        if isinstance(value, Phrase):
            text = (self.engine.texts.ngettext(self.lang, value.msgid, value.plural, value.n) if value.plural
                    else self.engine.texts.gettext(self.lang, value.msgid))
            return text % {"num": value.n} if "%(num)" in text else text
        if isinstance(value, Names):
            return value.get(self.lang)
        return str(value)

    def render(self, texts: L10n | None) -> str:
        text = self.pick(texts)
        if "{" not in text and "}" not in text:  # most texts have no placeholder: nothing to format
            return text
        try:
            return text.format_map(_Placeholders(self))
        except (ValueError, IndexError, AttributeError):
            return text

    def buttons_for(self, node: Node) -> tuple[Button, ...]:
        return tuple(Button(self.render(o.label), payloads.option(node.key, i)) for i, o in enumerate(node.options, 1))

    def std_buttons(self, *buttons: tuple[str, str]) -> tuple[Button, ...]:
        """The bot's own buttons (STANDARD_BUTTONS), labelled in the contact's language."""
        return tuple(Button(self.tr(label), payload) for label, payload in buttons)

    def wait(self, at: str | None, kind: Wait | None) -> None:
        self.state.at, self.state.wait, self.state.tries = at, kind, 0

    def offer(self, message: str, reason: str) -> None:
        """Ask whether to pass the conversation to a person; remembers why, for the mediator."""
        self.say(self.tr(message), self.std_buttons(TALK, MENU))
        self.context = self.state.at or self.context
        self.wait(self.state.at, Wait.OFFER)
        self.state.reason = reason

    def take_offer(self, accepted: bool) -> None:
        reason = self.state.reason or "button"
        self.state.misses, self.state.reason = 0, None
        self.context = self.state.at or self.context
        if accepted:
            self.enter(self.flows.settings.mediator, reason=reason)
        else:
            self.enter(self.flows.settings.entry)

    # -- the turn --------------------------------------------------------------------------------

    def handle(self, inbound: Inbound) -> None:
        text = clean(inbound.text or "")
        last = dt.datetime.fromisoformat(self.state.last_at) if self.state.last_at else None
        self.state.last_at = self.now.isoformat()
        timed_out = bool(last and self.state.at and
                         self.now - last > dt.timedelta(minutes=self.flows.settings.session_timeout_minutes))
        if timed_out:
            self.state.vars, self.state.misses = {}, 0
            self.wait(None, None)

        if self.profile.lang is None and inbound.lang_hint in LANG_CHOICES:
            self.profile.lang, self.profile.script = lang_script(inbound.lang_hint or "")
        picker = self.flows.settings.language_picker
        answers_picker = (self.state.at == picker and self.state.wait == Wait.ASK) or (
            (inbound.payload or "").startswith((payloads.option_prefix(picker), payloads.language(""))))
        if self.profile.lang is None and not answers_picker:
            # Before the language is known only a question typed in words counts: its language is
            # detected and it is answered. Anything else gets the picker: one tap, in four languages.
            if text and not inbound.payload and self.first_words(text):
                return
            self.enter(picker)
            return
        if self.profile.lang and not self.profile.notice_shown:
            self.profile.notice_shown = True
            self.say(self.tr(T_PRIVACY))
            if self.state.at is None:
                if not (text and not inbound.payload and not self.engine.keyword(text) and self.free_text(text)):
                    self.enter(self.flows.settings.entry)
                return

        # urgent situations come before anything else a typed message could mean
        if text and not inbound.payload and self.profile.lang:
            hit = urgent(skeleton(text)) if _LETTERS.search(text) else None
            if hit is not None:
                self.state.misses = 0
                self.escalate(hit)
                return

        kind = self.engine.keyword(text) if text and self.profile.lang else None
        if kind:
            self.state.misses = 0
            self.global_keyword(kind)
            return
        if inbound.payload:
            self.button(inbound.payload)
            return
        if not text:
            if inbound.media and any(m.kind != "sticker" for m in inbound.media):
                self.offer(T_MEDIA, "media")
            else:
                self.say(self.tr(T_EMPTY))
            return
        if timed_out:
            if self.free_text(text):
                return
            self.say(self.tr(T_WELCOME_BACK))
            self.enter(self.flows.settings.entry)
            return
        self.typed(text)

    # -- global keywords ("menu", "/start", "оператор"): the same whatever the conversation waits for ---

    def global_keyword(self, kind: str) -> None:
        handler = self.KEYWORDS.get(kind)
        if handler is not None:
            handler(self)

    def keyword_menu(self) -> None:
        self.state.vars = {}
        self.enter(self.flows.settings.entry)

    def keyword_hello(self) -> None:
        """"salom", "спасибо": a polite word, not a question the bot failed."""
        self.enter(self.flows.settings.entry)

    def keyword_mediator(self) -> None:
        self.enter(self.flows.settings.mediator, reason="keyword")

    def keyword_language(self) -> None:
        self.enter(self.flows.settings.language_picker)

    def keyword_help(self) -> None:
        self.offer(T_HELP, "button")

    def keyword_forget(self) -> None:
        self.say(self.tr(T_FORGET_CONFIRM), self.std_buttons(DELETE, KEEP))
        self.wait(None, Wait.FORGET)

    KEYWORDS: ClassVar[dict[str, Callable[[_Run], None]]] = {
        "start": keyword_menu, "menu": keyword_menu, "hello": keyword_hello, "mediator": keyword_mediator,
        "language": keyword_language, "help": keyword_help, "forget": keyword_forget}

    # -- buttons: each kind of payload (bot/payloads.py) has its handler; False = not for this step -------

    def button(self, payload: str) -> None:
        pressed = payloads.decode(payload)
        handler = self.BUTTONS.get(pressed.kind) if pressed.kind is not None else None
        if handler is None or not handler(self, pressed):
            self.stale()

    def pressed_offer(self, pressed: Pressed) -> bool:
        self.take_offer(pressed.yes)
        return True

    def pressed_language(self, pressed: Pressed) -> bool:
        if pressed.value not in LANG_CHOICES:
            return False
        self.switch_language(pressed.value)
        return True

    def pressed_meant(self, pressed: Pressed) -> bool:
        if self.state.wait not in (Wait.CLARIFY, Wait.FEEDBACK) or \
                pressed.value not in self.state.vars.get(CLARIFY_KEY, []):
            return False
        self.pick_answer(pressed.value)
        return True

    def pressed_option(self, pressed: Pressed) -> bool:
        option = pressed.option()
        if option is None or option[0] != self.state.at or self.state.wait not in (Wait.MENU, Wait.ASK):
            return False
        node, index = option
        self.choose(self.flows.node(node), index)
        return True

    def pressed_feedback(self, pressed: Pressed) -> bool:
        if self.state.wait != Wait.FEEDBACK:
            return False
        self.feedback(pressed.yes)
        return True

    def pressed_forget(self, pressed: Pressed) -> bool:
        if self.state.wait != Wait.FORGET:
            return False
        self.forget(pressed.yes)
        return True

    # a rating (r:) is the service's, for a closed conversation: here it is stale like any unknown kind
    BUTTONS: ClassVar[dict[Kind, Callable[[_Run, Pressed], bool]]] = {
        Kind.OFFER: pressed_offer, Kind.LANGUAGE: pressed_language, Kind.MEANT: pressed_meant,
        Kind.OPTION: pressed_option, Kind.FEEDBACK: pressed_feedback, Kind.FORGET: pressed_forget}

    def stale(self) -> None:
        self.say(self.tr(T_STALE))
        self.reshow()

    def reshow(self) -> None:
        """Ask again what the conversation waits for (or the main menu when it waits for nothing)."""
        wait, at = self.state.wait, self.state.at
        if wait == Wait.OFFER:
            self.offer(T_OFFER, self.state.reason or "button")
        elif wait == Wait.CLARIFY:
            self.clarify(tuple(self.state.vars.get(CLARIFY_KEY, [])))
        elif at and wait == Wait.FEEDBACK and self.flows.has(at):
            self.say(self.tr(T_DID_IT_HELP), self.std_buttons(YES, NO))
        elif at and wait in (Wait.MENU, Wait.ASK) and self.flows.has(at):
            self.prompt(self.flows.node(at))
        else:
            self.enter(self.flows.settings.entry)

    # -- typed text: first an answer to what the conversation waits for, then anything else ----------

    def typed(self, text: str) -> None:
        wait = self.state.wait
        node = self.flows.node(self.state.at) if self.state.at and self.flows.has(self.state.at) else None
        typed = _Typed(text, option_number(text), fold(text), node)
        answer = self.ANSWERS.get(wait) if wait is not None else None
        if answer is not None and answer(self, typed):
            return
        if typed.folded in self.engine.lang_words and self.profile.lang is not None:
            self.switch_language(self.engine.lang_words[typed.folded])
            return
        if wait == Wait.ASK and node is not None:
            if self.profile.lang is None:  # the picker: a question typed instead of a choice
                if not self.first_words(text):
                    self.prompt(node)
                return
            if not self.free_text(text, inside_ask=True):
                self.ask_failed(node, self.tr(T_ASK_CHOICE))
            return
        if self.free_text(text):
            return
        if wait is None and not _question_like(text):
            self.enter(self.flows.settings.entry)
            return
        self.not_understood(text)

    def typed_option(self, typed: _Typed, *, in_words: bool) -> bool:
        """One of the waiting node's options by its number or label; `in_words`: also by the value said
        in a sentence ("я из Таджикистана" to "what is your citizenship?")."""
        node = typed.node
        if node is None or not node.options:
            return False
        if typed.number is not None and 1 <= typed.number <= len(node.options):
            self.choose(node, typed.number)
            return True
        for i, opt in enumerate(node.options, 1):
            if typed.folded and typed.folded in {fold(v) for v in opt.label.values()}:
                self.choose(node, i)
                return True
        if in_words and node.save_as:
            stated = said(skeleton(typed.text)).get(node.save_as)
            values = [o.value for o in node.options]
            if stated is not None and stated in values:
                self.choose(node, values.index(stated) + 1)
                return True
        return False

    def typed_at_menu(self, typed: _Typed) -> bool:
        return self.typed_option(typed, in_words=False)

    def typed_at_ask(self, typed: _Typed) -> bool:
        node = typed.node
        if self.typed_option(typed, in_words=True):
            return True
        if node is None or node.expect == "choice":
            return False
        value, error = self.validate(node, typed.text)
        if error is None:
            self.save(node, value)
            self.after_ask(node)
        elif not self.free_text(typed.text, inside_ask=True):
            self.ask_failed(node, error)
        return True

    def typed_yes_or_no(self, typed: _Typed) -> bool | None:
        """1 or a yes word: True; 2 or a no word: False; None for anything else."""
        said = typed.folded or typed.text.strip()
        if not (typed.number in (1, 2) or said in self.engine.yes_or_no_words):
            return None
        return typed.number == 1 or said in self.engine.yes_words

    def typed_at_feedback(self, typed: _Typed) -> bool:
        helped = self.typed_yes_or_no(typed)
        if helped is not None:
            self.feedback(helped)
        return helped is not None

    def typed_at_forget(self, typed: _Typed) -> bool:
        confirmed = self.typed_yes_or_no(typed)
        if confirmed is not None:
            self.forget(confirmed)
        return confirmed is not None

    def typed_at_offer(self, typed: _Typed) -> bool:
        talk, menu = ({fold(self.engine.texts.gettext(lang, label)) for lang in self.flows.settings.languages}
                      for label in (T_TALK, T_MAIN_MENU))
        if not (typed.number in (1, 2) or typed.folded in talk | menu):
            return False
        self.take_offer(typed.number == 1 or typed.folded in talk)
        return True

    def typed_at_clarify(self, typed: _Typed) -> bool:
        """The number of an answer offered, or the one after them: the button to a person."""
        if typed.number is None:
            return False
        offered = list(self.state.vars.get(CLARIFY_KEY, []))
        if 1 <= typed.number <= len(offered):
            self.pick_answer(offered[typed.number - 1])
            return True
        if typed.number == len(offered) + 1:
            self.take_offer(True)
            return True
        return False

    ANSWERS: ClassVar[dict[Wait, Callable[[_Run, _Typed], bool]]] = {
        Wait.MENU: typed_at_menu, Wait.ASK: typed_at_ask, Wait.FEEDBACK: typed_at_feedback,
        Wait.FORGET: typed_at_forget, Wait.OFFER: typed_at_offer, Wait.CLARIFY: typed_at_clarify}

    def not_understood(self, text: str = "") -> None:
        """Nothing understood: say so, keep the question for the editors, show where we are (and the
        way to a person); the second miss in a row offers a person first."""
        question = _question_like(text)
        if question:
            analysis = self._analysis if self._analysis and self._analysis.text == text else \
                self.engine.understanding.analyse(text, prior=self.profile.lang)
            guess = analysis.lang
            self.turn.unanswered = UnansweredQuestion(
                text=text, lang=guess.lang if guess else None, script=guess.script if guess else None,
                topic=analysis.topic, node=analysis.node, confidence=round(analysis.confidence, 3))
        self.state.misses += 1
        if self.state.misses >= 2:
            self.offer(T_NOT_UNDERSTOOD_AGAIN, "not_understood")
            return
        self.say(self.tr(T_NO_MATCH if question else T_NOT_UNDERSTOOD))
        self.reshow()

    # -- free text -------------------------------------------------------------------------------

    def first_words(self, text: str) -> bool:
        """A contact who has not chosen a language typed something: when it is a question (or an
        urgent situation) in a language we can tell, take that language, show the privacy notice and
        answer. False when the picker should be shown instead."""
        if option_number(text) is not None or not _LETTERS.search(text):
            return False
        analysis = self.engine.understanding.analyse(text)
        guess = analysis.lang
        if guess is None:
            return False
        sure = guess.confidence >= th.LANG_SET and len(_LETTERS.findall(text)) >= 2
        if not (analysis.action == "handoff" or (sure and analysis.action in ("answer", "clarify"))):
            return False
        self.profile.lang, self.profile.script = lang_script(guess.choice)
        self.profile.notice_shown = True
        self.say(self.tr(T_PRIVACY))
        self.act(analysis)
        return True

    def free_text(self, text: str, inside_ask: bool = False) -> bool:
        """Understand a typed message; True when it was acted on (an answer, "did you mean", or a
        person). Inside a question (`ask`) only a confident answer or an urgent situation counts."""
        if option_number(text) is not None or not _LETTERS.search(text):
            return False
        analysis = self.engine.understanding.analyse(text, prior=self.profile.lang, profile=self.known())
        self._analysis = analysis
        if inside_ask and analysis.urgent is None and len(_LETTERS.findall(text)) < 3:
            return False  # "two months" to "how many months?" is a wrong answer, not a new question
        if analysis.action == "none" and analysis.topic == "out_of_scope" and analysis.node and not inside_ask:
            # a look-alike that is not ours: say so plainly, then the menu; the editors still see it
            guess = analysis.lang
            self.turn.unanswered = UnansweredQuestion(
                text=text, lang=guess.lang if guess else None, script=guess.script if guess else None,
                topic=analysis.topic, node=analysis.node, confidence=round(analysis.confidence, 3))
            self.pick_answer(analysis.node)
            return True
        if analysis.action == "none" or (inside_ask and analysis.action == "clarify"):
            return False
        self.offer_switch(analysis)
        self.act(analysis)
        return True

    def known(self) -> dict[str, str]:
        """The contact's saved choices (citizenship, region): what answers depend on."""
        return {k: v for k, v in self.profile.vars.items() if isinstance(v, str)}

    def act(self, analysis: Analysis) -> None:
        self.state.misses = 0
        self.context = self.state.at or self.context
        # citizenship or region said in the message, and used for the answer, is the contact's now
        self.profile.vars.update(analysis.facts)
        if analysis.urgent is not None:
            self.escalate(analysis.urgent)
        elif analysis.action in ("answer", "handoff") and analysis.node:
            self.pick_answer(analysis.want or analysis.node)
            if analysis.also and self.state.wait == Wait.FEEDBACK and self.turn.replies:
                # a second question in the same message: one more button under "Did this help?"
                last = self.turn.replies[-1]
                label = self.title(analysis.also)
                if uz_cyrillic(self.profile.lang, self.profile.script):
                    label = uz_latin_to_cyrillic(label)
                button = Button(label, payloads.meant(analysis.also))
                self.turn.replies[-1] = dataclasses.replace(last, buttons=(*last.buttons, button))
                self.state.vars[CLARIFY_KEY] = [analysis.also]
        elif analysis.action == "clarify":
            self.clarify(analysis.options)

    def escalate(self, hit: Urgent) -> None:
        """An urgent situation: what to do now (e.g. the emergency numbers), then a person."""
        self.context = self.state.at or self.context
        *first, last = [n for n in hit.nodes if self.flows.has(n)] or [self.flows.settings.mediator]
        for key in first:
            node = self.flows.node(key)
            self.say(self.render(node.text), node=node)
            self.turn.topic = node.topic
        self.enter(last, reason="urgent")

    def pick_answer(self, key: str) -> None:
        """Give an answer a typed question asked for: the variant for this contact's citizenship and
        region; when one is unknown, ask for it first (once: it is saved) and answer after."""
        self.state.misses = 0
        self.state.vars.pop(CLARIFY_KEY, None)
        self.state.vars.pop(WANT_KEY, None)
        self.context = self.state.at or self.context
        resolution = self.engine.understanding.resolve(key, self.known())
        if resolution.asks and resolution.want:
            if self._analysis is not None:  # "...в Калуге": the region counts once the citizenship is told
                self.region_said(self.flows.node(self.flows.typed_entry(resolution.want)), self._analysis.text)
            self.state.vars[WANT_KEY] = [resolution.want, resolution.node]
            self.enter(resolution.node)
            return
        entry = self.flows.typed_entry(resolution.node)  # a calculated answer: through its calculator
        if entry != resolution.node and self._analysis is not None:
            self.region_said(self.flows.node(entry), self._analysis.text)
        self.enter(entry)

    def region_said(self, ask: Node, text: str) -> None:
        """"Сколько стоит патент в Твери": the region named in the question is the contact's now, so
        the region question before the price is not asked, or not answered from an older region."""
        if ask.type == "ask" and ask.expect == "region" and ask.save_as:
            found = patent_prices.table(self.flows.prices).find(text)
            if len(found) == 1:
                self.save(ask, found[0])

    def clarify(self, options: tuple[str, ...]) -> None:
        options = tuple(o for o in options if self.flows.has(o))
        if not options:
            self.enter(self.flows.settings.entry)
            return
        buttons = tuple(Button(self.title(key), payloads.meant(key)) for key in options)
        self.say(self.tr(T_DID_YOU_MEAN), buttons + self.std_buttons(TALK))
        self.wait(self.state.at, Wait.CLARIFY)
        self.state.vars[CLARIFY_KEY] = list(options)
        self.state.reason = "not_understood"

    def title(self, key: str) -> str:
        understanding = self.engine.understanding
        resolution = understanding.resolve(key, self.known())
        if resolution.asks:  # not one variant's title ("Срок регистрации: Узбекистан") but the question's
            title = self.pick(self.flows.node(key).title)
            if understanding.variants.specific(key, resolution.asks) or not title:
                head, colon, _ = title.partition(":")
                label = understanding.variants.labels.get(resolution.node)
                return head.strip() if colon and head.strip() else self.render(label) if label else title
            return title
        if self.flows.node(resolution.node).title:
            key = resolution.node
        node = self.flows.node(key)
        if node.title:
            return self.render(node.title)
        examples = node.examples.get(self.lang) or next(iter(node.examples.values()), [key])
        return examples[0]

    def offer_switch(self, analysis: Analysis) -> None:
        """The migrant chose one language and writes, surely, in another: offer to switch (once)."""
        guess = analysis.lang
        if (guess is None or self.profile.lang is None or SWITCH_KEY in self.state.vars
                or guess.lang == self.profile.lang or guess.confidence < th.LANG_SWITCH
                or len(_LETTERS.findall(analysis.text)) < th.LANG_SWITCH_MIN_WORDS
                or guess.choice not in self.engine.lang_labels):
            return
        self.state.vars[SWITCH_KEY] = guess.choice
        text = self.engine.texts.gettext(guess.lang, T_SWITCH)
        if guess.choice == UZ_CYRL:
            text = uz_latin_to_cyrillic(text)
        button = Button(self.engine.lang_labels[guess.choice], payloads.language(guess.choice))
        self.turn.replies.append(Reply(text=text, buttons=(button,)))

    def switch_language(self, choice: str) -> None:
        self.profile.lang, self.profile.script = lang_script(choice)
        if self.state.wait == Wait.FEEDBACK and self.state.at and self.flows.has(self.state.at):
            node = self.flows.node(self.state.at)  # the answer again, now in the language chosen
            self.say(self.render(node.text), node=node)
        self.reshow()

    def choose(self, node: Node, index: int) -> None:
        self.state.misses = 0
        if not 1 <= index <= len(node.options):
            self.stale()
            return
        option = node.options[index - 1]
        if node.type == "menu" and option.next:
            self.enter(option.next)
        elif node.type == "ask" and option.value is not None:
            self.save(node, option.value)
            self.after_ask(node)

    def feedback(self, helped: bool) -> None:
        node = self.flows.node(self.state.at) if self.state.at and self.flows.has(self.state.at) else None
        if helped:
            self.say(self.tr(T_GLAD))
            self.enter(node.next if node and node.next else self.flows.settings.entry)
        else:
            self.offer(T_OFFER, "feedback")

    def forget(self, confirmed: bool) -> None:
        if confirmed:
            self.turn.forget = True
            self.turn.profile = Profile(lang=self.profile.lang, script=self.profile.script)
            self.turn.state = ConvState()
            self.say(self.tr(T_FORGET_DONE))
            self.turn.profile = Profile()
        else:
            self.say(self.tr(T_FORGET_KEPT))
            self.enter(self.flows.settings.entry)

    # -- ask nodes -------------------------------------------------------------------------------

    def validate(self, node: Node, text: str) -> tuple[Value, str | None]:
        if node.expect in ("number", "integer"):
            raw = text.replace(" ", "").replace(",", ".")
            try:
                number = float(raw) if node.expect == "number" else int(raw)
            except ValueError:
                return 0, self.tr(_NUMBER_ERRORS[node.expect or "number"])
            if (node.min is not None and number < node.min) or (node.max is not None and number > node.max):
                return 0, self.tr(T_ASK_RANGE, min=self.show(_num(node.min)), max=self.show(_num(node.max)))
            return number, None
        if node.expect == "date":
            day = parse_date(text)
            if day is None:
                return 0, self.tr(T_ASK_DATE, example=self.now.date().strftime("%d.%m.%Y"))
            if node.when == "past" and day > self.now.date():
                return 0, self.tr(T_ASK_PAST)
            if node.when == "future" and day < self.now.date():
                return 0, self.tr(T_ASK_FUTURE)
            return day, None
        if node.expect == "region":  # any of the 89 regions, by part of a name in any language or script
            found = patent_prices.table(self.flows.prices).find(text)
            return (found[0], None) if len(found) == 1 else (0, self.tr(T_ASK_CHOICE))
        if node.expect == "phone":
            digits = re.sub(r"\D", "", text)
            if not PHONE_RE.match(text) or not 10 <= len(digits) <= 15:
                return 0, self.tr(T_ASK_PHONE)
            return "+" + digits, None
        return text, None

    def ask_failed(self, node: Node, error: str) -> None:
        if self.profile.lang is None:  # the picker: its own text speaks all four languages; ask again
            self.prompt(node)
            return
        self.state.tries += 1
        if self.state.tries > node.retries:
            if node.on_fail:
                self.enter(node.on_fail)
            else:
                self.offer(T_ASK_GIVE_UP, "ask_failed")
            return
        tries = self.state.tries
        self.say(self.render(node.error) if node.error else error)
        self.prompt(node)
        self.state.tries = tries

    def save(self, node: Node, value: Value) -> None:
        name = node.save_as or ""
        if name == "language":
            self.profile.lang, self.profile.script = lang_script(str(value))
            return
        target = self.profile.vars if node.scope == "contact" else self.state.vars
        target[name] = encode_value(value)

    def after_ask(self, node: Node) -> None:
        if node.save_as == "language" and not self.profile.notice_shown:
            self.profile.notice_shown = True
            self.say(self.tr(T_PRIVACY))
        want = self.state.vars.get(WANT_KEY)
        if isinstance(want, list) and len(want) == 2 and want[1] == node.key:
            self.pick_answer(str(want[0]))  # the answer asked for, now for this contact
            return
        if node.next:
            self.enter(node.next)

    # -- running nodes ---------------------------------------------------------------------------

    def prompt(self, node: Node) -> None:
        """Show a node that waits for input, and wait there."""
        buttons = self.buttons_for(node)
        self.say(self.render(node.text), buttons, node)
        self.wait(node.key, Wait.MENU if node.type == "menu" else Wait.ASK)

    def enter(self, key: str, reason: str = "node") -> None:
        steps = 0
        current: str | None = key
        while current is not None:
            steps += 1
            if steps > MAX_STEPS or not self.flows.has(current):
                self.enter_fallback()
                return
            current = self.step(self.flows.node(current), reason)

    def enter_fallback(self) -> None:
        self.offer(T_ASK_GIVE_UP, "flow_error")

    def step(self, node: Node, reason: str) -> str | None:
        """Run one node; the next node to run, or None when the turn waits for the migrant."""
        run = self.NODES.get(node.type)
        return run(self, node, reason) if run is not None else None

    def run_menu(self, node: Node, reason: str) -> str | None:
        self.prompt(node)
        return None

    def run_ask(self, node: Node, reason: str) -> str | None:
        name = node.save_as or ""
        known = name in self.profile.vars or (name == "language" and self.profile.lang is not None)
        if node.scope == "contact" and known and not node.ask_again:
            return node.next
        self.prompt(node)
        return None

    def run_answer(self, node: Node, reason: str) -> str | None:
        self.say(with_footer(self.render(node.text), node, self.lang, self.engine.texts), node=node)
        self.turn.topic = node.topic
        if node.feedback:
            self.say(self.tr(T_DID_IT_HELP), self.std_buttons(YES, NO))
            self.wait(node.key, Wait.FEEDBACK)
            return None
        return node.next or self.flows.settings.entry

    def run_switch(self, node: Node, reason: str) -> str | None:
        value = self.var(node.on or "")
        return node.cases.get(str(value), node.default) if value is not None else node.default

    def run_calculate(self, node: Node, reason: str) -> str | None:
        calc = calculators.CALCULATORS[node.calculator or ""]
        values = {name: self.var(var) for name, var in node.inputs.items()}
        if any(v is None for v in values.values()):
            return self.flows.settings.entry
        results = calculators.run(calc.name, values, self.now.date(), self.flows.prices)
        self.state.vars.update({k: encode_value(v) for k, v in results.items()})
        return node.next

    def run_handoff(self, node: Node, reason: str) -> str | None:
        self.say(self.render(node.text), node=node)
        self.turn.handoff = HandoffRequest(
            queue=node.queue, priority=node.priority, reason=reason, summary=node.summary or "",
            topic=node.topic, node=node.key, context=self.context)
        self.turn.topic = node.topic
        self.wait(None, None)
        return None

    def run_goto(self, node: Node, reason: str) -> str | None:
        return node.target

    NODES: ClassVar[dict[str, Callable[[_Run, Node, str], str | None]]] = {
        "menu": run_menu, "ask": run_ask, "answer": run_answer, "switch": run_switch,
        "calculate": run_calculate, "handoff": run_handoff, "goto": run_goto}


def _answer_words(per_lang: Mapping[str, list[str]]) -> set[str]:
    return {fold(word) or word.strip() for words in per_lang.values() for word in words}


@dataclass(frozen=True)
class _Typed:
    """A typed message as the answers to a waiting step read it."""

    text: str
    number: int | None  # "2", "2.", "②": an option's number
    folded: str  # for comparing with words and labels
    node: Node | None  # the node the conversation waits at


class _Placeholders(dict[str, str]):
    """{name} in a text -> the saved variable, shown in the contact's language."""

    def __init__(self, run: _Run):
        super().__init__()
        self.run = run

    def __missing__(self, key: str) -> str:
        return self.run.show(self.run.var(key))


_VOWELS = re.compile("[aeiou]")


def _question_like(text: str) -> bool:
    """Worth keeping for the editors: at least two real words (three letters or more, with a vowel, once
    letters typed over and over are counted once: "zzz qqq" and "ыыы" are not), or one and a "?"."""
    words = [w for w in skeleton(text).split() if len(w) >= 3 and _VOWELS.search(w)]
    return len(words) >= 2 or ("?" in text and len(words) == 1)


def _num(value: float | None) -> int | float:
    if value is None:
        return 0
    return int(value) if float(value).is_integer() else value

