"""Citizenship and region said inside a message ("мы с Таджикистана", "Qozonda ishlayman", "я кыргыз",
"в Питере"), over the matching skeleton (`bot.core.normalize.skeleton`), so one pattern covers every
language and script. Values are the ones the flows' contact questions save (`citizenship`: uz tj kg eaeu,
`region`: moscow moscow_oblast spb tatarstan perm).

Only a clear statement counts: a message naming two citizenships or two regions says nothing about
that variable.
"""

from __future__ import annotations

import re

_CITIZENSHIP = {
    "uz": r"\b(uzbek|ozbek|taškent|toškent|samarkand|andijan|andijon|fergan|fargon|namangan|buxar|buxoro|"
          r"xorezm|xorazm|karakalpak|korakalpok|nukus|kaškadar|kaškadari|surxandar|džizak|jizzax|jizak|navoi)",
    "tj": r"\b(ta(d)?jik|tojik|točik|tačik|ta(d)?jič|tojič|dušanbe|xudjand|xujand|xučand|xojand|xočand|"
          r"kuliab|kulob|xatlon|bokxtar|boxtar|"
          r"istaravšan|pendjikent|panjakent|pančakent|badaxšan|badaxšon|rašt)",
    "kg": r"\b(kirgiz|kirgis|kirgiš|kirgzst|biškek|oštan|ošton|ošdan|iz oša|s oša|oš (šar|šaxr)|džalal|jalal|"
          r"čui|karakol|talas|"
          r"batken|naryn|narin)",
    # the other EAEU states: no patent, 30 days for registration, like Kyrgyzstan
    "eaeu": r"\b(kazax|kazakst|kazaks\b|kozog|kozok|kazok|almat|astana|armeni|armian|armanist|erevan|belarus|"
            r"belorus|minsk)",
}
# Moscow oblast before Moscow: "Подмосковье", "Московская область", "Moskva viloyati", "вилояти Маскав"
_OBLAST = r"\b(podmoskov\w*|moskovsk\w* obl\w*|mosobl\w*|mo?skva?\w* (viloiat|oblus|oblast)\w*|viloiati maskav\w*)"
_REGION = {
    "moscow_oblast": _OBLAST,
    "moscow": r"\b(moskv|moskov|maskav|msk\b|moskva)",
    "spb": r"\b(piter|peterburg|petersburg|sankt|spb\b|sp[bp]\w*)",
    "tatarstan": r"\b(tatarstan|kazan|kozon)",
    "perm": r"\bperm(\b|i\b|e\b|sk|da\b|de\b|ga\b|ge\b|dan\b|den\b|ga\b)",
}
_CIT_RE = {value: re.compile(p) for value, p in _CITIZENSHIP.items()}
_REGION_RE = {value: re.compile(p) for value, p in _REGION.items()}
_OBLAST_RE = re.compile(_OBLAST)


def said(skel: str) -> dict[str, str]:
    """{"citizenship": ..., "region": ...} as far as the message tells them clearly."""
    out: dict[str, str] = {}
    cits = [value for value, rx in _CIT_RE.items() if rx.search(skel)]
    if len(cits) == 1:
        out["citizenship"] = cits[0]
    regions = []
    rest = skel
    if _OBLAST_RE.search(skel):
        regions.append("moscow_oblast")
        rest = _OBLAST_RE.sub(" ", skel)
    regions += [value for value, rx in _REGION_RE.items() if value != "moscow_oblast" and rx.search(rest)]
    if len(regions) == 1:
        out["region"] = regions[0]
    return out
