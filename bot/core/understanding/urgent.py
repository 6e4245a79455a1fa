"""Urgent situations, recognised before any FAQ matching: the migrant gets the right help node and a
person at once.

Patterns are written over the matching skeleton (`bot.core.normalize.skeleton`), so one pattern covers
Russian in Cyrillic and in Latin letters, Uzbek in both scripts and Tajik and Kyrgyz with or without
their own letters. Skeleton letters: a-z without h, q, w, y (they become x, k, š, i), plus č (ч) and
š (ш); ж is j, х/ҳ is x, ц is c, я is ia, ю is iu, й and ы are i, doubled letters are single.

A rule is a list of groups that must all match somewhere in the text (each group an alternation), and
optionally `unless`: a pattern that cancels the rule (a question about paying the patent is not about
unpaid wages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# category -> (node to enter, node that hands over after it, or None when the node itself does)
TARGETS: dict[str, tuple[str, ...]] = {
    "suicide": ("urgent.now",),
    "medical": ("urgent.numbers", "urgent.now"),
    "violence": ("urgent.violence",),
    "detained": ("urgent.detained",),
    "passport": ("urgent.passport",),  # an employer holding the passport; trafficking signs
    "trafficking": ("urgent.passport",),
    "expulsion": ("urgent.expulsion",),
    "wages": ("urgent.wages",),
    "legal": ("main.mediator",),  # residence permits and the like: a person, not the bot
}

_POLICE = r"otdeleni|otdel polic|polic|milic|ment(i|ov|ovk|am|a\b)|\bovd\b|učastk|obezian|\bpolis\b|politsi|\bmvd\b"
_DOCS = r"pasport|dokument|šinosnom|xučat|xujat|\bxujjat|\bdoc"

_RULES: list[tuple[str, list[str], str | None]] = [
    # -- suicide risk
    ("suicide", [r"pokonč\w* s sob|suicid|samoubi|ubi(t|iu) seb|ne xoču jit|jit ne xoč|povesit|"
                 r"ozimni oldir|joniga kasd|iašagim kelmai|xudkuš|xudamro mekuš|ozumdu oltur|"
                 r"jašagim kelbe|ozumo oltur|ozumdu olt"], None),
    # -- medical emergency
    ("medical", [r"ne diš|bez soznan|poterial\w* soznan|krovotečen|infarkt|insult|pristup|umira|"
                 r"otravil|upal s (vis|les|kriš|etaj)|slomal|perelom|"
                 r"xušidan ket|nafas olol|kon ketiap|iikilib|singan|"
                 r"bexuš|xun meravad|nafas gir\w* nametav|"
                 r"es učun|dem al\w* albai|kan agip|jigilip|sinip kal"], None),
    # -- violence
    ("violence", [r"\bizbi|\bbet (menia|nas|ego|ee|jen|detei|rebenk)|(menia|nas|muj|jena)\w* bet\b|\bbiut\b|"
                  r"udaril|iznasil|nasili|domogaet|ugroj|"
                  r"\burdi\b|\buradi\b|\burib\b|\buriš|kaltakla|zoravon|zorla|zorlik|doposla|korkit|"
                  r"maro zad|zurovar|\bzad\b|\bmezan(ad|and)\b|\bzadand\b|lat kard|zorovari|tačovuz|taxdid|"
                  r"sabadi|sabašti|\burdu\b|\burat\b|\buruš|\burup\b|zombuluk|zordu|korkut|zorlo"],
     r"zang zad|zang mez|urok|ta.xdid\w* kil"),
    # -- passport kept by an employer (a sign of forced labour and trafficking)
    ("passport", [_DOCS, r"zabral|otobral|derj|ne otda|ne vozvraš|ne vernu|u sebia|vernut|\bvzial|"
                  r"olib koi|olib kol|olib kolg|olišga|bermai|kaitarmai|kaitarib ol|ušlab tur|iigib ol|"
                  r"girift|namedix|nigox|bargardon|\bdar xud|"
                  r"alip al|berbe|karmap tur|karmaganga|kaitarbai|kaitarip al|jiinap al"],
     _POLICE + r"|poter|iokot|gum kard|gum šud|jogot|dublikat|vosstanov|kak polučit|oformit|"
     r"dlia patent|učun kerak|lozim|kerekp|kerakmi|\bsdat|topšir|perevod|notarius|kopi|"
     r"(dokument|xujat|xučat|pasport)\w* (učun|iz za|baroi|sababl)"),
    # -- detention by the police
    ("detained", [_POLICE, r"zaderj(a|i)|zabra|uvez|povez|poviaz|zagreb|siju|sidim|derjat|podpis|imzo|kol koi|"
                  r"vziali|arest|"
                  r"ušla|olib ket|olib bor|kamab|kamaš|otirib|dastgir|bozdošt|burd|girift|nigox doš|\bdošt|"
                  r"nišast|karma|alip ket|kamap|otur|ostanovil"], r"zarplat|maoš|oilik|ailik|muzd"),
    ("detained", [r"zaderjal|zaderjan|zaderjivaiu|ušlab (kol|ket|tur|ol)|ušlaš|bozdošt|dastgir|"
                  r"karmašt|karmadi|karmap ket|karmap al|karmaganga|\breid|zaderjat"],
     r"zarplat|maoš|oilik|ailik|muzd|pul|akča|den(gi|eg)"),
    # -- other signs of trafficking: locked in, not let go, forced to work
    ("trafficking", [r"ne vipuska|zaperl|vzaperti|prodal\w* (nas|menia)|zastavlia\w* rabot|"
                     r"čikarišmai|čikarmai|kamab koi|majburlab|berun namebar|mačbur|namemonand|"
                     r"čigarbai|majburla|satip jiber|kamap koi"], None),
    # -- expulsion, deportation order, entered in the register of controlled persons, blocked cards,
    #    entry ban. Questions about what the register is are answered by registration.controlled_register.
    ("expulsion", [r"vidvor|ixroč|(?<!jokko )čigar(uu|ip jiber)|(?<!xatdan )(?<!raciadan )čikarib iubor|"
                   r"(vnes|vnos|popal|kiritiš|kiritiliš|kirgiziš|kirgizil|doxil kard|vkliuč)\w* .{0,30}"
                   r"(reestr|reiestr|fexrist)|(reestr|reiestr|fexrist)\w* .{0,30}"
                   r"(vnes|vnos|popal|kiritiš|kiritiliš|kirgiziš|kirgizil|doxil kard|vkliuč)|"
                   r"zablokir\w* .{0,20}kart|k[ao]rt\w* .{0,20}(zablokir|blok|bast|bogot)|"
                   r"zapret\w* (na )?v[e]?ezd|kiriš takik|mani vurud|kiruugo tiiu|"
                   r"deport\w* .{0,25}(rešeni|\bsud|\bsot\b|postanov|prišl|prišel|vinesl|karor|karar|čečim|keldi|omad)|"
                   r"(rešeni|\bsud\b|\bsot\b|postanov|karor|čečim)\w* .{0,25}deport"], None),
    # -- residence permits, long overstay: questions the bot must not answer alone
    ("legal", [r"\brvp\b|\bvnj\b|vid na jitel|razrešeni\w* na vremen|vremenn\w* projiv"], None),
    # -- wages not paid
    ("wages", [r"zarplat|zarabotn|\bzp\b|polučk|\bden(gi|eg)|\bpul|maoš|oilik|iš xak|aili[kg]|\bakim|"
               r"emgek ak|muzd|\bakča|ne plat(it|iat)\b|za rabotu ne|zaplat\w* za rabot"],
     r"patent|dms|polis|registr|štraf|pošlin|nalog|ndfl|jarima|jarim|aiip|boj|viz|skor|tez erdam|tez jardam|"
     r"erii tačili|vrač|bolnic|doktor|lečen|davol|dari"),
]
_WAGE_PROBLEM_SOURCE = (
    r"ne (pla|vipla|zapla|otda|da|polu)|nevipla|kinul|zaderjiva|zaderjk|ne vidai|obmanul|"
    r"bermai|bermad|beriš\w* (mad|mai)|berišmad|berilma|tolamai|tolamad|bermasd|aldad|aldaš|kečik|"
    r"namedix|nadod|nadix|fireb|\bder med|"
    r"berbe|tolobo|tološpo|tologon jok|beriš\w* jok|ber\w*gen jok|berilbe|kečig|(ailik|akča)\w* (da |dagi )?jok\b|"
    r"aldap|aldašt|kačip")


@dataclass(frozen=True)
class Urgent:
    category: str
    nodes: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern[str]:
    """Patterns are written with ordinary spelling; the skeleton writes a doubled letter once."""
    return re.compile(re.sub(r"([a-zčš])\1+", r"\1", pattern))


_COMPILED = [(cat, [_compile(g) for g in groups], _compile(unless) if unless else None)
             for cat, groups, unless in _RULES]
_WAGE_PROBLEM = _compile(_WAGE_PROBLEM_SOURCE)


def urgent(skel: str) -> Urgent | None:
    """The urgent situation a message (in skeleton form) describes, if any."""
    for category, groups, unless in _COMPILED:
        if all(g.search(skel) for g in groups) and not (unless and unless.search(skel)):
            if category == "wages" and not _WAGE_PROBLEM.search(skel):
                continue
            return Urgent(category, TARGETS[category])
    return None
