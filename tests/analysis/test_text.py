import pytest

from analysis.pipeline.text import content_terms, content_tokens, detect_language, fold_accents


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The police should listen to young people in our city.", "en"),
        ("Die Politik muss endlich handeln, für das Klima und die Zukunft.", "de"),
        ("El gobierno debe proteger los bosques y el agua de todos.", "es"),
        ("Les jeunes doivent être écoutés par la police dans nos quartiers.", "fr"),
    ],
)
def test_detect_language_on_clear_sentences(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_is_none_without_evidence() -> None:
    assert detect_language("Klimarat 2040") is None
    assert detect_language("") is None


def test_fold_accents_merges_spelling_variants() -> None:
    assert fold_accents("Straße für Café") == "Strasse fur Cafe"


def test_stop_words_are_removed_per_language() -> None:
    # "die" and "war" are German function words but English content words.
    assert content_tokens("Die Menschen war es egal") == ["menschen", "egal"]
    assert "war" in content_tokens("The war will never end")
    assert "die" in content_tokens("Many species could die out")


def test_content_terms_add_bigrams_of_neighbours() -> None:
    assert content_terms("Build protected bike lanes") == [
        "build",
        "protected",
        "bike",
        "lanes",
        "build protected",
        "protected bike",
        "bike lanes",
    ]
