import csv
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def polis_comment_mix() -> tuple[list[str], list[str]]:
    """Comments and the conversation each came from (five English, one German)."""
    with (FIXTURES / "polis" / "comments_mix.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["comment-body"] for row in rows], [row["conversation"] for row in rows]


@pytest.fixture(scope="session")
def polis_fixture_dir() -> Path:
    return FIXTURES / "polis"


@pytest.fixture(scope="session")
def sentiment_fixture_dir() -> Path:
    return FIXTURES / "sentiment"
