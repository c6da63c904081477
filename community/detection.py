"""Does a post ask for help? Pure text heuristics, no Django.

English, Spanish, French and German. A post is a *question* when its last
sentence ends with a question mark (or a Spanish one opens it); it *asks for
help* when it contains one of the phrases below as whole words. Keep the
lists short and specific: every hit puts a post in front of a facilitator.
"""

from __future__ import annotations

import re
import unicodedata

PHRASES = {
    "en": ["help", "please", "how do i", "how can i", "does anyone know", "i'm stuck", "stuck"],
    "es": ["ayuda", "ayudar", "por favor", "como puedo", "como hago", "alguien sabe"],
    "fr": ["aide", "aidez", "s'il vous plait", "s'il te plait", "svp", "comment faire",
           "comment puis-je", "quelqu'un sait"],
    "de": ["hilfe", "helfen", "bitte", "wie kann ich", "wie mache ich", "weiss jemand"],
}  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents, curly apostrophes straightened, ß as ss."""
    text = text.lower().replace("\u2019", "'").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_PHRASE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(p) for p in sorted({p for ps in PHRASES.values() for p in ps}, key=len,
                                             reverse=True))
    + r")(?![\w'])"
)  # fmt: skip
# Markdown code and quotes are not the author's own words.
_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_QUOTE = re.compile(r"^\s*>.*$", re.M)


def help_signal(text: str) -> str | None:
    """``"asks_for_help"``, ``"question"`` or ``None``."""
    own = _QUOTE.sub(" ", _CODE.sub(" ", text))
    if _PHRASE.search(_fold(own)):
        return "asks_for_help"
    stripped = own.strip()
    if stripped.endswith(("?", "\uff1f")) or stripped.startswith("¿"):
        return "question"
    return None
