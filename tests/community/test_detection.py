"""Which posts ask for help: the pure heuristics, in four languages."""

from __future__ import annotations

import pytest

from community.detection import help_signal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can someone help me with the form", "asks_for_help"),
        ("How do I add a second idea", "asks_for_help"),
        ("Please explain the voting", "asks_for_help"),
        ("¿Alguien sabe cómo votar?", "asks_for_help"),
        ("Necesito ayuda con esto", "asks_for_help"),
        ("Comment puis-je participer", "asks_for_help"),
        ("S\u2019il vous plaît, expliquez", "asks_for_help"),
        ("Wie kann ich abstimmen", "asks_for_help"),
        ("Hilfe, das Formular geht nicht", "asks_for_help"),
        ("Is this the right topic?", "question"),
        ("¿Es aquí", "question"),
        ("Shade trees on every school yard", None),
        ("A helpful and helpless word", None),
        ("> please help\nThat quote was not mine.", None),
        ("Run `help` in the shell.", None),
    ],
)
def test_help_signal(text: str, expected: str | None) -> None:
    assert help_signal(text) == expected
