"""Text normalization, tokens and language detection for English, German, Spanish, French."""

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence

from analysis.pipeline.stopwords import STOP_WORDS

LANGUAGES: tuple[str, ...] = ("en", "de", "es", "fr")
LANGUAGE_MARKER = "lang:"

_URL = re.compile(r"https?://\S+|www\.\S+")
_WHITESPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z][a-z0-9]+")
_LETTER_HINTS: dict[str, str] = {
    "ä": "de",
    "ö": "de",
    "ü": "de",
    "ß": "de",
    "ñ": "es",
    "¿": "es",
    "¡": "es",
    "ç": "fr",
    "è": "fr",
    "ê": "fr",
    "à": "fr",
    "œ": "fr",
}
# How much one stop word counts for each language that lists it: a word that
# four languages share tells nothing, a word only one language has tells most.
_STOP_WORD_WEIGHTS: dict[str, dict[str, float]] = {}
for _language, _words in STOP_WORDS.items():
    for _word in _words:
        _STOP_WORD_WEIGHTS.setdefault(_word, {})[_language] = 1.0
for _weights in _STOP_WORD_WEIGHTS.values():
    for _language in _weights:
        _weights[_language] = 1.0 / len(_weights)
_MIN_EVIDENCE = 1.0


def fold_accents(text: str) -> str:
    """Drop diacritics (``é`` to ``e``, ``ß`` to ``ss``) so spelling variants meet."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_text(text: str) -> str:
    """Lower case, no URLs, single spaces, diacritics folded."""
    without_urls = _URL.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return fold_accents(_WHITESPACE.sub(" ", without_urls).strip())


def tokenize(text: str) -> list[str]:
    """Word tokens of a normalized text: letters first, at least two characters."""
    return _TOKEN.findall(text)


def language_of_tokens(tokens: Iterable[str], *, raw_text: str = "") -> str | None:
    """The language (``en``, ``de``, ``es``, ``fr``) with the most stop-word evidence.

    ``raw_text`` (before accent folding) adds letters typical of one language.
    Returns ``None`` when the evidence is too thin or tied: unknown, not English.
    """
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for token in tokens:
        for language, weight in _STOP_WORD_WEIGHTS.get(token, {}).items():
            scores[language] += weight
    for char in set(raw_text.lower()) & _LETTER_HINTS.keys():
        scores[_LETTER_HINTS[char]] += 1.0
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, runner_up) = ranked[0], ranked[1]
    if best_score < _MIN_EVIDENCE or best_score <= runner_up:
        return None
    return best


def detect_language(text: str) -> str | None:
    """Language code of ``text`` among ``LANGUAGES``, or ``None`` if it cannot tell."""
    return language_of_tokens(tokenize(normalize_text(text)), raw_text=text)


def content_tokens(text: str) -> list[str]:
    """Tokens without the stop words of the text's own language (or of English if unknown).

    Stop words are removed per language because lists overlap with content
    words elsewhere: German ``war`` and ``die`` are English content words.
    """
    tokens = tokenize(normalize_text(text))
    language = language_of_tokens(tokens, raw_text=text) or "en"
    stop_words = STOP_WORDS[language]
    return [token for token in tokens if token not in stop_words and not token.isdigit()]


def content_terms(text: str) -> list[str]:
    """Content tokens, bigrams of neighbouring ones (``bike lane``), and a language marker.

    The marker (``lang:de``, three times) for texts not in English keeps posts in different
    languages apart, which share no words and would otherwise meet as noise.
    """
    tokens = tokenize(normalize_text(text))
    language = language_of_tokens(tokens, raw_text=text) or "en"
    content = [t for t in tokens if t not in STOP_WORDS[language] and not t.isdigit()]
    bigrams = [f"{first} {second}" for first, second in itertools.pairwise(content)]
    marker = [] if language == "en" else [f"{LANGUAGE_MARKER}{language}"] * 3
    return content + bigrams + marker


def distinct_by_text(texts: Sequence[str], indices: Iterable[int], count: int) -> list[int]:
    """The first ``count`` of ``indices`` whose texts differ (case and spacing aside):
    three illustrations of a point are three different posts, not one pasted thrice."""
    chosen: list[int] = []
    seen: set[str] = set()
    for index in indices:
        key = " ".join(str(texts[index]).casefold().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(index))
        if len(chosen) == count:
            break
    return chosen
