"""``manage.py jam_report SLUG --format json``: shape, values, and no voter in it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.factories import member, round_with_ballot
from voting import services
from voting.models import Ballot, RankedIdeaResult

from .conftest import after_voting

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(jam, ideas):  # type: ignore[no-untyped-def]
    """An approval round (3 ballots) and a budget round (2 ballots), computed."""
    a, b, c, _d = ideas
    approval = round_with_ballot(jam, ideas, title="Approve", parameters={"max_approvals": 2})
    budget = round_with_ballot(
        jam, [a, b], method="budget", title="Spend", parameters={"points": 10}
    )
    voters = [member(jam, email=f"voter{i}@secret.example") for i in range(3)]
    for voter, choices in zip(voters, ({a.pk: 1, c.pk: 1}, {c.pk: 1}, {a.pk: 1}), strict=True):
        services.vote_cast(actor=voter, round=approval, choices=choices)
    services.vote_cast(actor=voters[0], round=budget, choices={a.pk: 3, b.pk: 7})
    services.vote_cast(actor=voters[1], round=budget, choices={b.pk: 10})
    for voting_round in (approval, budget):
        services.ranking_compute(round=voting_round, now=after_voting())
    return approval, budget, voters


def report_of(slug: str) -> dict[str, Any]:
    out = StringIO()
    call_command("jam_report", slug, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def test_report_shape_and_values(jam, ideas, reported) -> None:
    approval, budget, _voters = reported
    a, b, c, d = ideas
    report = report_of(jam.slug)
    assert report["jam"] == {"slug": jam.slug, "title": jam.title}
    assert [r["round"] for r in report["rankings"]] == [
        {"id": approval.pk, "title": "Approve"},
        {"id": budget.pk, "title": "Spend"},
    ]
    first, second = report["rankings"]
    assert (first["method"], first["ballots"], first["entries"]) == ("approval", 3, 4)
    assert first["parameters"] == {"max_approvals": 2, "confidence": 0.95}
    assert first["statement"].startswith("Approval voting: each voter marked up to 2 ideas.")
    assert [(i["id"], i["title"], i["rank"], i["total"], i["n"]) for i in first["ideas"]] == [
        (a.pk, "Alpha", 1, 2.0, 3),
        (c.pk, "Charlie", 2, 2.0, 3),
        (b.pk, "Bravo", 3, 0.0, 3),
        (d.pk, "Delta", 4, 0.0, 3),
    ]
    assert [i["tied_with_previous"] for i in first["ideas"]] == [False, True, True, True]
    assert (second["method"], second["ballots"]) == ("budget", 2)
    assert second["parameters"] == {"points": 10, "replicates": 500, "seed": 0, "confidence": 0.95}
    assert [(i["id"], i["total"], i["n"]) for i in second["ideas"]] == [
        (b.pk, 17.0, 2),
        (a.pk, 3.0, 1),
    ]
    # Every figure is the stored one, nothing recomputed.
    for section in report["rankings"]:
        for row in section["ideas"]:
            stored = RankedIdeaResult.objects.get(
                result__round_id=section["round"]["id"], idea_id=row["id"]
            )
            assert row["score"] == stored.score
            assert row["interval"] == [stored.low, stored.high]
            assert row["interval"][0] <= row["score"] <= row["interval"][1]


def test_report_has_no_per_voter_data(jam, reported) -> None:
    _approval, _budget, voters = reported
    text = json.dumps(report_of(jam.slug))
    assert "secret.example" not in text
    assert not {"voter", "voter_id", "ballot", "ballot_id", "email"} & keys_in(json.loads(text))
    assert Ballot.objects.filter(voter__in=voters).count() == 5  # the ballots exist


def test_report_to_a_file_and_unknown_jams(jam, reported, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    call_command("jam_report", jam.slug, "--format", "json", "--output", str(target))
    assert json.loads(target.read_text()) == report_of(jam.slug)
    with pytest.raises(CommandError):
        call_command("jam_report", "no-such-jam", "--format", "json")


def test_a_jam_without_rankings_reports_an_empty_list(jam) -> None:
    report = report_of(jam.slug)
    assert report["jam"] == {"slug": jam.slug, "title": jam.title}
    assert report["rankings"] == []


def test_compute_rankings_command(jam, ideas) -> None:
    voting_round = round_with_ballot(jam, ideas)
    with pytest.raises(CommandError, match="once voting has closed"):
        call_command("compute_rankings", jam.slug, stdout=StringIO())
    with time_machine.travel(after_voting(), tick=False):
        out = StringIO()
        call_command("compute_rankings", jam.slug, stdout=out)
        call_command("compute_rankings", jam.slug, stdout=out)
    assert out.getvalue().count("Round approval: approval, 0 ballots") == 2
    assert voting_round.result.ideas.count() == 4
