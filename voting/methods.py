"""The four voting methods as data: their parameters, what a valid ballot is,
and the plain-language statement printed next to a ranking.

Pure code (no ORM): the services call it, tests check it directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from django.utils.translation import gettext as _

from jams.errors import Invalid, TooLarge

from .models import MAX_ENTRY_VALUE, Method

RATING_MIN: Final = 1
RATING_MAX: Final = 5
MAX_APPROVALS: Final = 100
MAX_POINTS: Final = MAX_ENTRY_VALUE
MAX_BALLOT_IDEAS: Final = 1000

# Every method's parameters, with their defaults; anything else is refused.
DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    Method.APPROVAL: {"max_approvals": 3, "confidence": 0.95},
    Method.RATING: {
        "scale_min": RATING_MIN,
        "scale_max": RATING_MAX,
        "prior_weight": 5.0,
        "confidence": 0.95,
    },
    Method.BUDGET: {"points": 10, "replicates": 500, "seed": 0, "confidence": 0.95},
    Method.PAIRWISE: {
        "prior_comparisons": 2.0,
        "count_undecided_as_half": False,
        "confidence": 0.95,
    },
}


def parameters_clean(method: str, raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The method's full parameter set: defaults overridden by ``raw``, checked."""
    if method not in DEFAULTS:
        raise Invalid(_("Choose a voting method."))
    raw = dict(raw or {})
    unknown = set(raw) - set(DEFAULTS[method])
    if unknown:
        raise Invalid(_("Unknown parameters: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    params = {**DEFAULTS[method], **raw}
    confidence = params["confidence"]
    if not _is_number(confidence) or not 0.5 <= confidence < 1:
        raise Invalid(_("The confidence level must be between 0.5 and 1."))
    if method == Method.APPROVAL:
        _whole(params, "max_approvals", 1, MAX_APPROVALS, _("Approvals per voter"))
    elif method == Method.RATING:
        if (params["scale_min"], params["scale_max"]) != (RATING_MIN, RATING_MAX):
            raise Invalid(_("Ratings are 1 to 5 stars."))
        _positive(params, "prior_weight", _("Prior weight"))
    elif method == Method.BUDGET:
        _whole(params, "points", 1, MAX_POINTS, _("Points per voter"))
        _whole(params, "replicates", 100, 10_000, _("Bootstrap replicates"))
        _whole(params, "seed", 0, 2**31 - 1, _("Seed"))
    else:
        _positive(params, "prior_comparisons", _("Prior comparisons"))
        if not isinstance(params["count_undecided_as_half"], bool):
            raise Invalid(_("“Count can't decide as half” must be true or false."))
    return params


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _whole(params: dict[str, Any], name: str, low: int, high: int, label: str) -> None:
    value = params[name]
    if type(value) is not int or not low <= value <= high:
        raise Invalid(
            _("%(label)s must be a whole number from %(low)d to %(high)d.")
            % {"label": label, "low": low, "high": high}
        )


def _positive(params: dict[str, Any], name: str, label: str) -> None:
    value = params[name]
    if not _is_number(value) or not 0 < value <= 1000:
        raise Invalid(_("%(label)s must be a positive number.") % {"label": label})
    params[name] = float(value)


def choices_clean(
    method: str, parameters: Mapping[str, Any], choices: Mapping[Any, Any], ballot: set[int]
) -> dict[int, int]:
    """A whole ballot as ``{idea id: value}``, checked against the method.

    ``choices`` is the complete ballot: ideas left out (and, for approval and
    budget, ideas given 0) have no entry. Values must be ``int``: strings,
    floats (NaN included) and booleans are refused, as are ideas that are not
    on the round's ``ballot``. Over-quota ballots raise ``TooLarge``.
    """
    if method == Method.PAIRWISE:
        raise Invalid(_("This round compares pairs of ideas; pick one of the two shown."))
    if len(choices) > MAX_BALLOT_IDEAS:
        raise TooLarge(_("That ballot has too many entries."))
    entries: dict[int, int] = {}
    for raw_idea, value in choices.items():
        idea_id = _idea_id(raw_idea)
        if idea_id not in ballot:
            raise Invalid(_("Idea %(id)s is not on this ballot.") % {"id": raw_idea})
        if type(value) is not int:
            raise Invalid(_("Votes must be whole numbers."))
        low, high = _value_range(method, parameters)
        if not low <= value <= high:
            raise Invalid(
                _("Each value must be from %(low)d to %(high)d.") % {"low": low, "high": high}
            )
        if value:
            entries[idea_id] = value
    if method == Method.APPROVAL and len(entries) > parameters["max_approvals"]:
        raise TooLarge(
            _("You may approve at most %(n)d ideas; this ballot approves %(m)d.")
            % {"n": parameters["max_approvals"], "m": len(entries)}
        )
    if method == Method.BUDGET and sum(entries.values()) > parameters["points"]:
        raise TooLarge(
            _("You have %(k)d points to spread; this ballot uses %(m)d.")
            % {"k": parameters["points"], "m": sum(entries.values())}
        )
    return entries


def requested_ids(choices: Mapping[Any, Any]) -> set[int]:
    """The idea ids a ballot names (``Invalid`` for anything that is not one)."""
    if len(choices) > MAX_BALLOT_IDEAS:
        raise TooLarge(_("That ballot has too many entries."))
    return {_idea_id(raw) for raw in choices}


def _idea_id(raw: object) -> int:
    if type(raw) is int:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    raise Invalid(_("Unknown idea."))


def _value_range(method: str, parameters: Mapping[str, Any]) -> tuple[int, int]:
    if method == Method.APPROVAL:
        return 0, 1
    if method == Method.RATING:
        return RATING_MIN, RATING_MAX
    return 0, int(parameters["points"])


def method_statement(method: str, parameters: Mapping[str, Any]) -> str:
    """How the ranking was made, in one paragraph, for the results page and report."""
    confidence = round(float(parameters.get("confidence", 0.95)) * 100)
    if method == Method.APPROVAL:
        text = _(
            "Approval voting: each voter marked up to %(n)d ideas. Ideas are ranked by the "
            "lower end of the %(c)d%% Wilson interval for the share of ballots approving them."
        ) % {"n": parameters["max_approvals"], "c": confidence}
    elif method == Method.RATING:
        text = _(
            "Rating: each voter gave %(lo)d to %(hi)d stars per idea. Ideas are ranked by "
            "their Bayesian average: every idea starts as if %(w)g people had given it the "
            "round's mean rating. The interval is a %(c)d%% normal interval."
        ) % {
            "lo": parameters["scale_min"],
            "hi": parameters["scale_max"],
            "w": parameters["prior_weight"],
            "c": confidence,
        }
    elif method == Method.BUDGET:
        text = _(
            "Budget: each voter spread up to %(k)d points over the ideas. Ideas are ranked "
            "by total points; the %(c)d%% interval comes from %(r)d bootstrap resamples of "
            "the voters (seed %(s)d)."
        ) % {
            "k": parameters["points"],
            "c": confidence,
            "r": parameters["replicates"],
            "s": parameters["seed"],
        }
    else:
        undecided = (
            _("counts as half a win for each side")
            if parameters["count_undecided_as_half"]
            else _("is not counted")
        )
        text = _(
            "Pairwise: voters picked the better of two ideas shown together. Ideas are ranked "
            "by a Bradley-Terry fit as the chance of beating a randomly chosen other idea, "
            "with %(p)g virtual comparisons per idea against an average idea; “can't decide” "
            "%(u)s. The %(c)d%% interval comes from the Fisher information."
        ) % {"p": parameters["prior_comparisons"], "u": undecided, "c": confidence}
    ties = _(
        "Ideas marked as tied have an interval overlapping the one ranked just above. "
        "Order: score, then the interval's lower end, then the total, then the oldest idea."
    )
    return f"{text} {ties}"
