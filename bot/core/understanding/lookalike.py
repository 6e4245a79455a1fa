"""Look-alike questions that are not ours, recognised by what they are about before the classifier
weighs our words in them: "патент на изобретение", "регистрация на рейс", "курс рубля", registering or
clearing a car, a driving licence and its medical board. Our words ("патент", "регистрация",
"медкомиссия") pull such a question towards one of our answers; the thing it is about (an invention, a
flight, a car, a driving licence, an exchange rate) says it is not ours. The classifier learns this from
the examples of `main.not_ours` too; these rules make it hold for the kinds named here whatever words
surround them.

Patterns are over the matching skeleton (see `urgent` for its letters). A rule is groups that must all
match, and `unless`: a pattern that keeps the question ours (a migrant who works as a driver asking about
the patent is ours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the thing a look-alike is about, per kind (Russian, Uzbek, Tajik, Kyrgyz stems in skeleton form)
_CAR = (r"\bmašin|\bavto\b|avtomobil|\bavtomaš|\bmoto(cikl)?\b|\bmošin|\bgai\b|\bgibd|"
        r"gosnomer|\bnomer\w* (avto|mašin|mošin)|pricep|\bosago\b|tex\w*osmotr|diagnostič\w* kart")
_CAR_PAPERS = (r"registr|\bučet|\bučiot|postavit na uč|na uč|kato|kattoo|rasmiilašt|ruixat|baqaid|\bqaid|kaid|"
               r"rastamoj|tamoj|bojxon|gumruk|\bbaji|strax|sugurt|bime|osago|nomer|oformit|oformlen")
# a migrant's own work with cars (a driver, a car wash) keeps the question ours
_OWN_WORK = (r"rabota\w* (voditel|taksi|na mašin|na avto|na moik)|voditel\w* rabot|taksist|\bkurer|"
             r"xaidovči bo\w* ishla|xaidovči\w* ishla|ronanda\w* kor|ronandagi kor|aidoču\w* ište|"
             r"patent|razrešen\w* na rabot|trudov|ish beruvči|korfarmo|ish beruu|iš beruu")
_LICENCE = (r"voditel\w* (prav|udostov)|\bprava (na|kategor|vodit|avto|mašin)|(polučit|polučen|sdat|sdaču|"
            r"pomenia|zamen|obmen|oliš|olmok|olsa|olam|gir\w*|ališ|alsa|alam|alu|almak)\w* prav|"
            r"prav\w* (polučit|oliš|olmok|ol\b|olsa|gir|ališ|alu|alsam|almak)|"
            r"xaidovčilik guvoxnom|guvoxnom\w* xaidov|ronandagi|šaxodatnom\w* ronand|aidoču\w* kubol|"
            r"kategori\w* [bcde]\b|\b[bcde] kategor")
_INVENTION = (r"izobret|polezn\w* model|promišlenn\w* obraz|tovarn\w* znak|brend|logotip|avtorsk\w* prav|"
              r"ixtiro|ixtiroi|kašfiet|oilop tab|patent\w* na (izobr|tovar|brend|logo|ideiu)")
_TRIP = (r"\breis|samolet|aviabilet|\bbilet|poezd|čeck in|čekin|tiiara|učok|samaliot|poiezd")
_TRIP_PAPERS = r"registr|ruixat|baqaid|kato|otmen|vernut|bagaj|kupit|xarid|sotib|bron|opozd|kečik"
# arriving (by plane, by train) and then registering is ours; so is being held at an airport
_ARRIVED = (r"priexal|priletel|pribil|v\w*ezd|keld|kelib|omad|parvoz kard|keldim|keldik|zaderž|zaderj|ušla|"
            r"ne puska|ne vipuska|zapret|deport|vidvor|ostanovil|migracion\w* kart|migracion\w* karta")
_RATE = (r"kurs\w* (rubl|dolar|dollar|evro|valiut|somon|som\b|sum\b|tenge)|(rubl|dolar|dollar|evro|valiut)\w* kurs|"
         r"obmen\w* valiut|valiut\w* obmen|kurs valiut|valiuta kurs")


@dataclass(frozen=True)
class Rule:
    kind: str
    groups: tuple[re.Pattern[str], ...]
    unless: re.Pattern[str] | None = None

    def matches(self, skel: str) -> bool:
        if self.unless is not None and self.unless.search(skel):
            return False
        return all(g.search(skel) for g in self.groups)


def _rule(kind: str, *groups: str, unless: str | None = None) -> Rule:
    return Rule(kind, tuple(re.compile(g) for g in groups), re.compile(unless) if unless else None)


RULES: tuple[Rule, ...] = (
    _rule("car", _CAR, _CAR_PAPERS, unless=_OWN_WORK),
    _rule("licence", _LICENCE,
          unless=r"trudov\w* prav|prav\w* (migrant|rabot|rabotnik)|xuquq|huquk|ukuk|restr|kontroliru"),
    _rule("invention", _INVENTION),
    _rule("trip", _TRIP, _TRIP_PAPERS, unless=_ARRIVED),
    _rule("rate", _RATE),
)


def lookalike(skel: str) -> str | None:
    """The kind of look-alike a message is (car, licence, invention, trip, rate), or None."""
    for rule in RULES:
        if rule.matches(skel):
            return rule.kind
    return None
