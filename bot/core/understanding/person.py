""""A person, please" said in a sentence: the migrant wants a mediator, not the bot.

A bare keyword ("оператор", "odam") is a global keyword of the flow settings; this module finds the wish
inside a sentence, in the four languages and every script, over the matching skeleton
(`bot.core.normalize.skeleton`). Two concepts must meet: someone (a person, an operator, a consultant)
and a wish or a link to them (talk with, connect to, I need, call). "How many people can I register"
names people too, so "person" alone is not enough; a few phrasings are enough on their own ("живой
человек", "не с ботом").
"""

from __future__ import annotations

import re

from bot.core.understanding.urgent import Urgent

# someone who is not the bot: a role (asking for it is asking for a person) ...
_ROLE = (
    r"operator|konsultant|mediator|specialist|sotrudnik|iurist|advokat|menedž|menedj|"
    r"mutaxassis|maslaxatči|xodim|mušovir|kenešči|adis\b|kizmatker"
)
# ... or just a person (then only with a word of talking or connecting: "register a person" is not it)
_PERSON = r"čelovek|čeloveč|\bliud(i|em|mi)\b|\bodam|\binson|\bkase\b|kasero|\badam(ga|di|\b)|\bkiši"
_TALK = (
    r"pogovor|pogovr|govori|pobesed|obšat|sviaz|sviaž|soedin|perekl|pozov|pozvat|pozvonit|peredai|"
    r"gaplaš|gapiriš|gaplaš|suxbat|ulang|ulab|ulaš|ulan|boglan|boglab|boglaš|čakir|"
    r"gap zan|gap zad|gap zana|suxbat|paivast|pajvast|vasl|"
    r"suiloš|suilo|sulos|koš|ulap|ulagil|bagitta|čakir|tutaš"
)
_WISH = (_TALK + r"|xoču|xotel|nuž|nuje|nujn|nujen|možno|mojno|daite|dai\b|est li|est tut|gde|"
         r"kerak|lozim|zarur|kani\b|bormi|darkor|lozimast|kuja|kerek|barbi|kaida")
# phrasings that say it on their own
_ALONE = (
    r"s kem\w*( to)? jiv|ne (s )?robot|živ\w* čelovek|jiv\w* čelovek|"
    r"ne (s )?bot|bez bot|s ne botom|ne robot|bot ne poni|bot menia ne|"
    r"bot\w* emas|botmas|bot bilan (emas|gaplaš\w*ma)|bot\w* tušunma|tirik odam|jonli odam|"
    r"bo bot (ne|na)|na bo bot|bot name(fax|fah)|bot\w* nafax|odami zinda|"
    r"bot (menen )?emes|bot tušunbo|tiru adam|čin adam"
)
# "operator" of a phone network is not our mediator; "how many people" is a count, not a person
_NOT = re.compile(
    r"(sotov|mobil|sviaz|\bmc\b|bilain|belin|megafon|tele 2|iota|sim)\w* operator|operator\w* (sotov|mobil|sviaz|"
    r"\bmc\b|bilain|belin|megafon|tele 2|iota)|skolko čelovek|neča odam|čand odam|čand nafar|kanča adam|"
    r"na čelovek|odam boš|adam baš|\bna (odn|dv|tr)\w* čelovek|"
    # "nobody to talk to" is loneliness, not a request for a mediator
    r"(odam|adam|kase|čelovek|inson)\w* (ek|iok|nest|jok|net)\b|ne s kem|nekomu|nikogo net|xeč kas nest|eč kim jok")
_ALONE_RE = re.compile(_ALONE)


def _near(a: str, b: str) -> re.Pattern[str]:
    """`a` and `b` within three words of each other, in either order."""
    gap = r"\S*(?:\s+\S+){0,3}?\s*\S*"
    return re.compile(rf"(?:{a}){gap}(?:{b})|(?:{b}){gap}(?:{a})")


_ROLE_WISH = _near(_ROLE, _WISH)
_PERSON_TALK = _near(_PERSON, _TALK)


def person_request(skel: str, mediator: str) -> Urgent | None:
    """A person asked for in a sentence: straight to `mediator` (the flow settings' "talk to a person")."""
    return Urgent("person", (mediator,)) if wants_person(skel) else None


def wants_person(skel: str) -> bool:
    """Whether a message (in skeleton form) asks for a person instead of the bot."""
    if not skel or _NOT.search(skel):
        return False
    if _ALONE_RE.search(skel):
        return True
    return bool(_ROLE_WISH.search(skel) or _PERSON_TALK.search(skel))
