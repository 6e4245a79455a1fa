"""Every threshold of free-text understanding, in one place.

How they were set (2026-11-22, flows as committed then): the best-answer score of every question of
shared/eval/questions-dev.tsv was printed with the runner-up's and with whether the best answer was
right, next to 20 out-of-scope questions written for the purpose (weather, tickets, jokes, shops):
- right answers scored 0.10-0.47 (median about 0.25); out-of-scope questions 0.01-0.22 (median 0.10);
- ANSWER (0.22) is about where wrong answers and out-of-scope questions stop; with the margins
  (MARGIN 0.15 relative to another topic, SIBLING_MARGIN 0.08 to an answer on the same topic) no
  out-of-scope question is answered and about 3 in 4 right answers are given confidently; the rest
  become "did you mean", where the right answer was first in all but a few cases;
- CLARIFY (0.12) keeps the lowest right answers (typed without spaces or with rare words) as a
  "did you mean" rather than nothing; below it only the editors see a topic guess (TOPIC_GUESS).
- LANG_SET / LANG_SWITCH: margins of the language detector on the same set (every row of it was
  detected right with margin >= 0.9 except one-word messages, which stay below 0.8).
`hotline eval FILE.tsv` prints the figures these thresholds give; re-measure after large changes to
the examples.
"""

from __future__ import annotations

# How questions are matched: "index" (matcher.FaqIndex: nearest examples and answers, TF-IDF cosine) or
# "linear" (classifier.LinearIndex: logistic regression, scores are probabilities, LINEAR_* thresholds).
METHOD = "linear"
LINEAR_ANSWER = 0.35
LINEAR_SURE = 0.8
LINEAR_CLARIFY = 0.2
# A confident answer: the best answer's score is at least ANSWER, and it leads the next answer on
# another topic by at least MARGIN of its own score and the next answer on its own topic by at least
# SIBLING_MARGIN (or the best score is at least SURE, whatever the margins).
ANSWER = 0.22
MARGIN = 0.15
SIBLING_MARGIN = 0.08  # the lead needed over another answer on the same topic
SURE = 0.38
# A message of fewer words names a topic rather than asks a question: "did you mean", never an answer.
ANSWER_MIN_WORDS = 2
# A close call: "did you mean" with up to CLARIFY_OPTIONS answers scoring at least CLARIFY and at least
# CLARIFY_SPREAD times the best one.
CLARIFY = 0.12
CLARIFY_SPREAD = 0.7
CLARIFY_OPTIONS = 3
# Language detection: the margin between the first and second language (0..1) that counts as sure
# enough to set the language of a contact who has not chosen one, and to offer a switch to one who has.
LANG_SET = 0.80
LANG_SWITCH = 0.95
LANG_SWITCH_MIN_WORDS = 3
# Long messages: each of the last PARTS sentences of at least PART_MIN_WORDS words is matched on its own
# too, and counts PART_WEIGHT of its score.
PARTS = 4
PART_MIN_WORDS = 3
PART_WEIGHT = 0.8
# Below CLARIFY: nothing; the best answer's topic is still stored as a guess for the editors when its
# score is at least TOPIC_GUESS.
TOPIC_GUESS = 0.08
