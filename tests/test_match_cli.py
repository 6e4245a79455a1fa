"""`hotline match` and `hotline eval` as a newcomer runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOTLINE = [sys.executable, "-m", "bot.cli"]
KEYS = {"text", "lang", "script", "topic", "node", "confidence", "action", "options"}


def run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOTLINE, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_match_prints_one_json_object_per_question() -> None:
    out = run(["match", "--json"],
              stdin="patent pulini qanday to'layman karta orqali\n\nmenya zaderzhala policiya\nрасскажи анекдот\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and all(set(r) >= KEYS for r in rows)
    assert (rows[0]["lang"], rows[0]["script"], rows[0]["action"], rows[0]["topic"]) == \
        ("uz", "Latn", "answer", "patent_payment")
    assert (rows[1]["action"], rows[1]["node"]) == ("handoff", "urgent.detained")
    assert rows[2]["action"] == "none"


def test_match_reads_arguments_and_lists_clarify_options() -> None:
    out = run(["match", "регистрация", "--profile", "citizenship=tj"])
    row = json.loads(out.stdout)
    assert row["action"] == "clarify" and 1 <= len(row["options"]) <= 3
    assert "registration.deadline_tj" in [o["node"] for o in row["options"]]


def test_match_answers_for_the_profile_given() -> None:
    out = run(["match", "сколько стоит патент", "как продлить патент"])
    price, renewal = (json.loads(line) for line in out.stdout.splitlines())
    assert (price["action"], price["topic"], price["node"], price["asks"]) == \
        ("answer", "patent_cost_region", "patent.ask_cit_cost", "citizenship")
    assert (renewal["node"], renewal["asks"]) == ("patent.ask_cit_renewal", "citizenship")
    out = run(["match", "--json", "--profile", "citizenship=kg,region=spb", "сколько стоит патент",
               "как продлить патент", "сколько дней на регистрацию"])
    nodes = [json.loads(line)["node"] for line in out.stdout.splitlines()]
    assert nodes == ["patent.kg_no_patent", "patent.renewal_kg", "registration.deadline_kg"]
    out = run(["match", "--profile", "citizenship=mars", "патент"])
    assert out.returncode == 2 and "citizenship" in out.stderr


def test_eval_prints_the_table_and_the_misses(tmp_path: Path) -> None:
    tsv = tmp_path / "q.tsv"
    tsv.write_text("lang\tscript\tlabel\ttext\tsource\n"
                   "ru\tCyrl\tpatent_payment\tкогда нужно платить за патент каждый месяц\tcomposed\n"
                   "ru\tLatn-translit\thandoff_needed\tmenya zaderzhala policiya\tcomposed\n"
                   "uz\tLatn\tout_of_scope\tbugun futbol qayerda\tcomposed\n"
                   "tg\tCyrl\tpatent_cost_region\tрасскажи анекдот\tcomposed\n", encoding="utf-8")
    out = run(["eval", str(tsv)])
    assert out.returncode == 0, out.stderr
    for line in ("overall", "confident", "by language", "by script", "by label", "language detection",
                 "handoff_needed escalated", "out_of_scope answered confidently", "out_of_scope offered topics",
                 "misses (1)"):
        assert line in out.stdout
    assert "handoff_needed escalated          100.0%" in out.stdout
    assert "расскажи анекдот" in out.stdout.split("misses")[1]
