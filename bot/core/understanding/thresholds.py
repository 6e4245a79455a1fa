"""Every threshold of free-text understanding, in one place.

How they were measured (`hotline eval`, and leave-one-out over the flows' own examples: each example
taken out of the index and asked as a question; see benchmarks/matching.py --loo):
- ANSWER / MARGIN: ...
"""

from __future__ import annotations

# A confident answer: the best answer's score is at least ANSWER, and it leads the next answer on
# another topic by at least MARGIN of its own score and the next answer on its own topic by at least
# SIBLING_MARGIN (or the best score is at least SURE, whatever the margins).
ANSWER = 0.22
MARGIN = 0.15
SIBLING_MARGIN = 0.08  # the lead needed over another answer on the same topic
SURE = 0.38
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
# Below CLARIFY: nothing; the best answer's topic is still stored as a guess for the editors when its
# score is at least TOPIC_GUESS.
TOPIC_GUESS = 0.08
