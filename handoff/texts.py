"""What the migrant is told about the handoff, in their language (gettext; Uzbek Cyrillic derived)."""

from __future__ import annotations

from typing import Any

from bot.core.texts import N_, Texts
from bot.core.translit import uz_latin_to_cyrillic
from bot.vocabulary import DEFAULT_LANG, uz_cyrillic

T_PLACE = N_("You are number %(place)d in the queue. Please stay in this chat.")
T_OUTSIDE_HOURS = N_("Our mediators answer %(hours)s (Moscow time). You will get an answer from %(when)s. "
                     "In an emergency, call 112.")
T_JOINED = N_("%(name)s, a mediator, has joined the conversation and will answer you here.")
T_CLOSED = N_("The mediator has closed this conversation. If you write again, the bot will answer first.")
T_RATE = N_("How much did the mediator help you? 1 means not at all, 5 means very much.")
T_THANKS = N_("Thank you for your rating.")
T_BACK_TO_BOT = N_("The mediator has passed you back to the bot. Write «menu» to see the topics.")
T_TRANSFERRED = N_("Your conversation has passed to %(name)s, a mediator, who will answer you here.")
T_REQUEUED = N_("Your conversation has passed to another mediator. Please stay in this chat: you will get an "
                "answer here.")
# What a migrant is told who writes "menu" or "help" while a person has (or will have) the conversation.
T_STATE_WAITING = N_("You are in the queue for a mediator, who will answer you here. Keep writing here what "
                     "happened. To leave the queue and go back to the topics, write «menu»; to delete your "
                     "data, write /forget.")
T_STATE_WITH_MEDIATOR = N_("A mediator has your conversation and will answer you here: keep writing to them. The "
                           "topics come back when the mediator closes the conversation; to delete your data, write "
                           "/forget.")
T_LEFT_QUEUE = N_("You have left the queue; the bot answers you again.")
T_AUTO_CLOSED = N_("This conversation was closed because nobody wrote for a long time. Write again at any time.")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def say(texts: Texts, lang: str | None, script: str | None, message: str, **params: Any) -> str:
    language = lang or DEFAULT_LANG
    text = texts.gettext(language, message)
    text = text % params if params else text
    return uz_latin_to_cyrillic(text) if uz_cyrillic(lang, script) else text
