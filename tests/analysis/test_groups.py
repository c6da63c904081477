import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from analysis.pipeline.evaluate import read_polis_votes
from analysis.pipeline.groups import Votes, find_opinion_groups


def _agreement_with_polis(polis_dir, name: str, **options) -> tuple[float, int]:
    data = read_polis_votes(polis_dir / name)
    result = find_opinion_groups(data.votes, **options)
    ours = np.array([-1 if group is None else group for group in result.assignments])
    both = (ours >= 0) & (data.polis_groups >= 0)
    return adjusted_rand_score(data.polis_groups[both], ours[both]), len(result.groups)


@pytest.mark.parametrize(
    ("name", "minimum"),
    # Measured 0.896 and 0.563 with the number of groups chosen by silhouette.
    [("brexit-consensus", 0.85), ("15-per-hour-seattle", 0.5)],
)
def test_groups_agree_with_polis(polis_fixture_dir, name: str, minimum: float) -> None:
    ari, n_groups = _agreement_with_polis(polis_fixture_dir, name)
    assert n_groups == 2
    assert ari > minimum


def test_groups_are_deterministic(polis_fixture_dir) -> None:
    data = read_polis_votes(polis_fixture_dir / "brexit-consensus")
    first, second = find_opinion_groups(data.votes), find_opinion_groups(data.votes)
    assert first.assignments == second.assignments
    assert first.groups == second.groups


def _two_camps(seed: int = 0) -> np.ndarray:
    """40 participants, 20 statements; camp A agrees with 0-9, camp B with 10-19; all agree 19."""
    rng = np.random.default_rng(seed)
    matrix = np.full((40, 20), np.nan)
    for person in range(40):
        camp = person < 20
        for statement in range(20):
            if rng.random() < 0.2:
                continue
            likes = (statement < 10) == camp or statement == 19
            matrix[person, statement] = 1.0 if likes == (rng.random() < 0.9) else -1.0
    matrix[0, :] = np.nan
    matrix[0, :3] = 1.0  # too few votes to be placed
    return matrix


def test_planted_camps_are_found_with_their_statements() -> None:
    result = find_opinion_groups(Votes.from_matrix(_two_camps()))
    assert result.assignments[0] is None
    assert np.isnan(result.projection[0]).all()
    camp_a = {result.assignments[i] for i in range(1, 20)}
    camp_b = {result.assignments[i] for i in range(20, 40)}
    assert len(camp_a) == 1
    assert len(camp_b) == 1
    assert camp_a != camp_b
    (group_a_id,) = camp_a
    assert group_a_id is not None
    group_a = result.groups[group_a_id]
    agreed = {s.statement for s in group_a.representative if s.direction == "agree"}
    assert agreed
    assert agreed <= set(range(10))
    assert all(s.group_rate > s.other_rate for s in group_a.representative)
    assert result.consensus[0] == 19
    assert 19 not in result.divisive
    assert set(result.divisive) <= set(range(19))


def test_everyone_filtered_out_gives_no_groups() -> None:
    matrix = np.full((5, 20), np.nan)
    matrix[:, 0] = 1.0
    result = find_opinion_groups(Votes.from_matrix(matrix))
    assert result.groups == ()
    assert result.assignments == (None,) * 5
