"""Sentiment per post in [-1, 1], or ``None`` where the language has no scorer.

English uses VADER's lexicon and rules (negation, boosters, "but", caps) per
token, as shipped in the vaderSentiment package, and aggregates the token
valences differently from VADER's compound score:

* negative valence weighs ``NEGATIVE_WEIGHT`` times positive valence;
* the sum is divided by ``(sentiment tokens + 1) ** LENGTH_EXPONENT``, so a
  long text is not extreme just because it has many mildly coloured words;
* ``x / sqrt(x**2 + SATURATION)`` maps to [-1, 1] with less saturation.

The three constants were chosen by grid search on the snippets of
even-numbered documents in both human-rated sets; results are reported on
the odd-numbered documents only (see docs/analysis.md). Other languages
return ``None``: unscored, not neutral.
"""

from collections.abc import Sequence
from functools import cache

from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText

from analysis.pipeline.text import detect_language

NEGATIVE_WEIGHT = 1.4
LENGTH_EXPONENT = 0.75
SATURATION = 8.0
SCORED_LANGUAGES = frozenset({"en"})


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """VADER's lexicon, loaded once per process."""
    return SentimentIntensityAnalyzer()


def token_valences(text: str) -> list[float]:
    """VADER's valence for each token after its negation, booster and "but" rules."""
    analyzer = _analyzer()
    sentitext = SentiText(text)
    words = sentitext.words_and_emoticons
    valences: list[float] = []
    for position, word in enumerate(words):
        lowered = word.lower()
        is_kind_of = lowered == "kind" and words[position + 1 : position + 2] == ["of"]
        if lowered in BOOSTER_DICT or is_kind_of:
            valences.append(0.0)
            continue
        valences = analyzer.sentiment_valence(0.0, sentitext, word, position, valences)
    return [float(value) for value in analyzer._but_check(words, valences)]


def english_sentiment(text: str) -> float:
    """Score in [-1, 1] for an English text; 0.0 when it has no sentiment words."""
    valences = token_valences(text)
    positive = sum(value for value in valences if value > 0)
    negative = -sum(value for value in valences if value < 0)
    coloured = sum(1 for value in valences if value != 0)
    raw = (positive - NEGATIVE_WEIGHT * negative) / (coloured + 1) ** LENGTH_EXPONENT
    return raw / (raw * raw + SATURATION) ** 0.5


def vader_compound(text: str) -> float:
    """VADER's own compound score, kept as the baseline for evaluation."""
    return float(_analyzer().polarity_scores(text)["compound"])


def score_sentiment(text: str, *, language: str | None = None) -> float | None:
    """Sentiment of one post, cheap enough to call when the post is written.

    ``language`` skips detection when the caller knows it. Texts in other
    languages, or whose language cannot be told, return ``None``. A short
    text with no stop words (``"Great idea!"``) is taken as English.
    """
    if not text.strip():
        return None
    detected = language or detect_language(text)
    if detected is None and len(text.split()) <= 4:
        detected = "en"
    if detected not in SCORED_LANGUAGES:
        return None
    return english_sentiment(text)


def score_sentiments(
    texts: Sequence[str], *, languages: Sequence[str | None] | None = None
) -> list[float | None]:
    """``score_sentiment`` for many posts; ``languages`` lines up with ``texts`` if given."""
    if languages is None:
        return [score_sentiment(text) for text in texts]
    return [
        score_sentiment(text, language=language)
        for text, language in zip(texts, languages, strict=True)
    ]
