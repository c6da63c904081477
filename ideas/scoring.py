"""Language and sentiment of a post, scored once when it is written.

Scoring at write time keeps the full analysis fast (sentiment dominates its
cost). Sentiment is only given for languages the analysis pipeline scores;
any other post is left unscored (None), never silently neutral.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.pipeline.sentiment import score_sentiment
from analysis.pipeline.text import detect_language


@dataclass(frozen=True)
class TextScore:
    language: str
    sentiment: float | None


def text_score(text: str) -> TextScore:
    language = detect_language(text)
    sentiment = score_sentiment(text, language=language)
    if sentiment is not None and language is None:
        language = "en"  # short texts with no stop words are taken as English
    if sentiment is not None:
        sentiment = max(-1.0, min(1.0, float(sentiment)))
    return TextScore(language=language or "", sentiment=sentiment)
