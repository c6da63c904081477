import numpy as np
import pytest
from scipy.stats import pearsonr

from analysis.pipeline.evaluate import read_rated_snippets
from analysis.pipeline.sentiment import (
    english_sentiment,
    score_sentiment,
    score_sentiments,
    vader_compound,
)


@pytest.mark.parametrize(
    "text",
    ["This is a wonderful idea, I love it!", "Great idea!", "The new park is beautiful."],
)
def test_clearly_positive_texts_score_positive(text: str) -> None:
    score = score_sentiment(text)
    assert score is not None
    assert score > 0.3


@pytest.mark.parametrize(
    "text",
    ["This is terrible and stupid.", "This is not good at all.", "I hate the new rules."],
)
def test_clearly_negative_texts_score_negative(text: str) -> None:
    score = score_sentiment(text)
    assert score is not None
    assert score < -0.2


def test_neutral_text_scores_zero() -> None:
    assert score_sentiment("The meeting starts at noon on Tuesday.") == 0.0


def test_contrast_puts_weight_after_but() -> None:
    assert english_sentiment("The idea is good, but the plan is terrible.") < 0


@pytest.mark.parametrize(
    "text",
    [
        "Das ist eine schreckliche Idee und die Politik muss handeln.",
        "Les jeunes doivent être écoutés par la police.",
        "",
    ],
)
def test_other_languages_and_empty_text_are_unscored(text: str) -> None:
    assert score_sentiment(text) is None


def test_given_language_skips_detection() -> None:
    assert score_sentiment("Wonderful!", language="de") is None
    assert score_sentiment("Wonderful!", language="en") == english_sentiment("Wonderful!") > 0


def test_scores_stay_within_bounds() -> None:
    loud = "AMAZING!!! best best best wonderful love love love perfect " * 20
    assert 0.9 < english_sentiment(loud) <= 1.0
    assert -1.0 <= english_sentiment(loud.replace("best", "worst").replace("love", "hate")) < 0


def test_batch_matches_single_calls() -> None:
    texts = ["Great idea!", "Die Idee ist gut.", "Terrible."]
    assert score_sentiments(texts) == [score_sentiment(text) for text in texts]
    assert score_sentiments(texts, languages=["de", "de", "en"])[:2] == [None, None]


@pytest.mark.parametrize(
    ("name", "minimum"),
    # Measured on the held-out excerpts: 0.517 (VADER 0.484) and 0.607 (VADER 0.608).
    [("nytEditorialSnippets", 0.47), ("amazonReviewSnippets", 0.56)],
)
def test_correlation_with_human_ratings(sentiment_fixture_dir, name: str, minimum: float) -> None:
    snippets = read_rated_snippets(sentiment_fixture_dir / f"{name}_excerpt.txt")
    ours = np.array([english_sentiment(text) for text in snippets.texts])
    vader = np.array([vader_compound(text) for text in snippets.texts])
    ours_r = pearsonr(ours, snippets.ratings).statistic
    assert ours_r > minimum
    assert ours_r > pearsonr(vader, snippets.ratings).statistic - 0.02
