"""Pure analysis pipeline for jams: themes, sentiment, tone shifts, opinion groups.

No Django here: inputs are plain sequences and NumPy arrays, outputs frozen
dataclasses, and every stochastic step has a fixed ``random_state``.
"""

from analysis.pipeline.groups import (
    OpinionGroup,
    OpinionGroupsResult,
    StatementStance,
    Votes,
    find_opinion_groups,
)
from analysis.pipeline.sentiment import score_sentiment, score_sentiments
from analysis.pipeline.shifts import ShiftResult, ToneBuckets, ToneShift, detect_tone_shifts
from analysis.pipeline.text import detect_language
from analysis.pipeline.themes import UNASSIGNED, Theme, ThemeResult, find_themes, theme_lineage

__all__ = [
    "UNASSIGNED",
    "OpinionGroup",
    "OpinionGroupsResult",
    "ShiftResult",
    "StatementStance",
    "Theme",
    "ThemeResult",
    "ToneBuckets",
    "ToneShift",
    "Votes",
    "detect_language",
    "detect_tone_shifts",
    "find_opinion_groups",
    "find_themes",
    "score_sentiment",
    "score_sentiments",
    "theme_lineage",
]
