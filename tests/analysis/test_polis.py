"""Pol.is import and export, on the committed brexit-consensus excerpt and tiny files."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis import services
from analysis.models import PolisImport, PolisParticipant
from analysis.polis import polis_export, polis_import
from ideas.models import Idea, Post, Reaction
from jams.errors import Invalid
from jams.models import AuditEntry, Membership, Role

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "polis" / "brexit-consensus"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def matrix_votes(path: Path) -> set[tuple[str, str, int]]:
    """(participant, comment, vote) from a participants-votes.csv."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    first = rows[0].index("n-disagree") + 1
    return {
        (row[0], comment, int(cell))
        for row in rows[1:]
        for comment, cell in zip(rows[0][first:], row[first:], strict=False)
        if cell != ""
    }


def test_brexit_import_keeps_comments_votes_timestamps_and_ids(jam) -> None:
    comments = read(FIXTURE / "comments.csv")
    votes = matrix_votes(FIXTURE / "participants-votes.csv")
    result = polis_import(directory=FIXTURE, jam=jam)
    assert result.votes_source == "participants-votes.csv"
    assert Idea.objects.filter(jam=jam).count() == len(comments) == result.ideas == 50
    assert Idea.objects.filter(jam=jam, hidden_at__isnull=False).count() == sum(
        c["moderated"] == "-1" for c in comments
    )
    posts = {p.external_id: p for p in Post.objects.filter(jam=jam)}
    for row in comments:
        post = posts[row["comment-id"]]
        assert post.body == row["comment-body"]
        assert post.created_at == datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC)
        assert (
            post.idea.external_id == row["comment-id"] and post.idea.created_at == post.created_at
        )
    # comments.csv's own agrees/disagrees columns differ slightly from the vote
    # matrix in Pol.is's export; the reactions follow the votes.
    tally = Counter((cid, v) for _, cid, v in votes)
    for cid, post in posts.items():
        assert (post.agree_count, post.disagree_count, post.pass_count) == (
            tally[(cid, 1)], tally[(cid, -1)], tally[(cid, 0)],
        )  # fmt: skip
    assert Reaction.objects.filter(post__jam=jam).count() == len(votes) == 5303
    value = {1: "agree", -1: "disagree", 0: "pass"}
    stored = {
        (p.participant_id, post_external, v)
        for p, post_external, v in (
            (PolisParticipant.objects.get(user_id=user_id), ext, val)
            for user_id, ext, val in Reaction.objects.filter(post__jam=jam).values_list(
                "user_id", "post__external_id", "value"
            )[:300]
        )
    }
    expected = {(pid, cid, value[v]) for pid, cid, v in votes}
    assert stored <= expected and len(stored) == 300
    authors = {row["author-id"] for row in comments}
    assert (
        set(
            PolisParticipant.objects.filter(user__posts__jam=jam).values_list(
                "participant_id", flat=True
            )
        )
        == authors
    )
    imported = Membership.objects.filter(jam=jam, user__email__endswith="@import.invalid")
    assert imported.count() == result.participants
    assert set(imported.values_list("role", flat=True)) == {Role.PARTICIPANT}
    assert not any(m.user.has_usable_password() for m in imported.select_related("user")[:5])
    scored = Post.objects.filter(jam=jam, sentiment__isnull=False).count()
    assert scored > 40 and Post.objects.filter(jam=jam, language="en").count() >= scored
    assert AuditEntry.objects.filter(jam=jam, action="polis.imported").count() == 1
    with pytest.raises(Invalid):
        polis_import(directory=FIXTURE, jam=jam)


def write_conversation(folder: Path) -> Path:
    """A tiny conversation with votes.csv (a changed vote, a rejected comment) and summary."""
    folder.mkdir()
    (folder / "summary.csv").write_text(
        "topic,Bike lanes\nurl,https://pol.is/abc123\nconversation-description,Where?\n",
        encoding="utf-8",
    )
    (folder / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1500000000000,x,0,7,1,1,1,We need protected bike lanes on Main Street.\n"
        "1500000060000,x,1,8,0,1,-1,Buy my stuff at spam.example\n"
        '1500000120000,x,2,7,1,0,0,"Cars, bikes and buses, together."\n',
        encoding="utf-8",
    )
    (folder / "votes.csv").write_text(
        "timestamp,datetime,comment-id,voter-id,vote\n"
        "1500000200000,x,0,8,1\n"
        "1500000100000,x,0,9,1\n"  # replaced by the later disagree below
        "1500000300000,x,0,9,-1\n"
        "1500000250000,x,1,9,-1\n"
        "1500000260000,x,2,9,1\n"
        "1500000270000,x,2,8,0\n",
        encoding="utf-8",
    )
    return folder


def test_votes_csv_later_votes_replace_earlier_and_summary_names_the_topic(jam, tmp_path) -> None:
    polis_import(directory=write_conversation(tmp_path / "bikes"), jam=jam)
    assert jam.topics.get().title == "Bike lanes"
    assert PolisImport.objects.get(jam=jam).conversation == "abc123"
    reactions = Counter(
        (ext, value) for ext, value in Reaction.objects.values_list("post__external_id", "value")
    )
    assert reactions == Counter(
        {("0", "agree"): 1, ("0", "disagree"): 1, ("1", "disagree"): 1,
         ("2", "agree"): 1, ("2", "pass"): 1}
    )  # fmt: skip
    later = Reaction.objects.get(post__external_id="0", user__email__contains="-9@")
    assert later.value == "disagree" and later.created_at.timestamp() == 1500000300
    assert list(
        Post.objects.filter(hidden_at__isnull=False).values_list("external_id", flat=True)
    ) == ["1"]
    assert set(PolisParticipant.objects.values_list("participant_id", flat=True)) == {"7", "8", "9"}
    assert Post.objects.get(external_id="0").pass_count == 0
    assert Post.objects.get(external_id="2").pass_count == 1


def test_export_round_trip_keeps_ids_votes_and_adds_groups(jam, tmp_path) -> None:
    polis_import(directory=FIXTURE, jam=jam)
    run = services.analysis_run(jam=jam, k=3)
    out = tmp_path / "out"
    counts = polis_export(jam=jam, directory=out)
    assert counts["votes"] == 5303
    original = {row["comment-id"]: row for row in read(FIXTURE / "comments.csv")}
    tally = Counter((cid, v) for _, cid, v in matrix_votes(FIXTURE / "participants-votes.csv"))
    exported = {row["comment-id"]: row for row in read(out / "comments.csv")}
    assert exported.keys() == original.keys()
    for cid, row in original.items():
        assert exported[cid]["timestamp"] == row["timestamp"]
        assert exported[cid]["author-id"] == row["author-id"]
        assert (exported[cid]["agrees"], exported[cid]["disagrees"]) == (
            str(tally[(cid, 1)]), str(tally[(cid, -1)]),
        )  # fmt: skip
        assert exported[cid]["comment-body"] == row["comment-body"]
    assert matrix_votes(out / "participants-votes.csv") == matrix_votes(
        FIXTURE / "participants-votes.csv"
    )
    assert len(read(out / "votes.csv")) == 5303
    groups = {row["participant"]: row["group-id"] for row in read(out / "participants-votes.csv")}
    members = sum(g.size for g in run.groups.all())
    assert sum(1 for g in groups.values() if g != "") == members > 100
    with (out / "summary.csv").open(encoding="utf-8") as handle:
        summary = dict(row for row in csv.reader(handle))
    assert summary["topic"] == "brexit-consensus"  # no summary.csv: the folder name
    assert summary["comments"] == "50" and summary["groups"] == str(run.groups.count())
    # Importing the export into another jam gives the same votes again.
    from jams.phases import Stage
    from tests.factories import jam_in_stage

    other = jam_in_stage(Stage.CLOSED)
    polis_import(directory=out, jam=other)
    assert Reaction.objects.filter(post__jam=other).count() == 5303
