"""Every threshold of free-text understanding, in one place.

Measured 2026-12-07 (flows as committed on branch `engine`; `hotline eval` on shared/eval; CPU time
with time.process_time on a 2-core machine at load average ~10, so absolute times are pessimistic).
Two ways of matching were compared side by side, with the same normalisation, the same question
groups (variants of one answer by citizenship/region are one question), the same sentence-by-sentence
reading of long messages and the same "not ours" examples (main.not_ours):

                          questions-dev-2 (200)                      questions-dev (90)     start-up  p99/q  RSS
                          topic  confident  oos answ. offered  lang  topic  confident oos   (CPU)     (CPU)
  start of the day        73.0%  37.9%      1/18      8/18     100%  95.6%  81.4%     0/4   ~2.5 s    -      82 MB
  A index, ANSWER .22     75.5%  42.9%      1/18      4/18     100%  95.6%  81.4%     0/4   2.66 s    9.8ms  82 MB
  A index, ANSWER .15     75.0%  62.1%      3/18      2/18     100%  95.6%  88.4%     0/4
  B linear, ANSWER .35    77.5%  69.2%      2/18      1/18     100%  95.6%  89.5%     0/4   2.76 s    5.8ms  73 MB
  B linear, ANSWER .45    77.0%  64.3%      2/18      1/18
  B linear, ANSWER .55    75.5%  59.3%      3/18      4/18

Measured again 2026-12-08 (hotline eval; CPU with time.process_time at load average ~6):

                                         dev-2 topic  confident  oos answ.  tg     dev topic  start-up CPU
  B, 7,596 examples, SGD row by row, 8 ep.  89.0%      83.0%      2/18       84.4%  94.4%      ~5.9 s
  B, same, mini-batches of 16, 5 epochs     89.5%      82.4%      2/18       84.4%  94.4%      ~2.2 s
  B, 9,625 examples (+2,000 by hand, tg/ky/uz styles), batches drawn once, 5 epochs
                                            90.5%      87.4%      2/18       86.7%  96.7%      ~2.0 s
  + look-alike rules (lookalike.py)         91.5%      87.4%      0/18       88.9%  96.7%      ~2.2 s
  (7 and 10 epochs: 91.0% / 89.5% topic at 2.7 / 2.6 s: no better.)

A = matcher.FaqIndex (TF-IDF over character 3-5-grams and word stems, rapidfuzz for unknown words,
nearest example mixed with the whole answer, cosine); B = classifier.LinearIndex (logistic regression
over the same features, trained at start-up by SGD, 8 epochs, numpy only; scores are probabilities).
B is kept (METHOD): more confident right answers at the same out-of-scope rate, faster per question,
less memory, no rapidfuzz on the hot path; its training costs ~1 s of the start-up (the rest is the
language model). B is weaker than A on health_hiv_tb rows today (5/9 vs 8/9); more examples help it.
The urgent and "a person" decisions (urgent.py) come before either and are not part of this table
(handoff_needed escalated: 60.0% -> 63.3% on dev-2, 100% on dev).

- LINEAR_ANSWER 0.35 with MARGIN 0.15: the lowest probability at which out-of-scope rows stay where
  they were with higher thresholds (2/18); LINEAR_SURE 0.8 answers whatever the margins;
- LINEAR_CLARIFY 0.2: below it a "did you mean" list was mostly wrong guesses; offered topics 1/18;
- ANSWER_MIN_WORDS 2: one word ("патент") is a topic: its best answers are offered, never one answer;
- PART_WEIGHT 0.8: a sentence of a long message counts 0.8 of its own score (1.0 let a story's first
  sentence win over the question at its end);
- LANG_SET / LANG_SWITCH: margins of the language detector on the same set (every row of it was
  detected right with margin >= 0.9 except one-word messages, which stay below 0.8).
`hotline eval FILE.tsv` prints the figures these thresholds give; re-measure after large changes to
the examples (METHOD = "index" restores A with its own thresholds ANSWER, SURE, CLARIFY).
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
