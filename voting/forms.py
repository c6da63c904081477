"""Forms: they turn posted text into typed values; the services judge them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ideas.models import Idea

from .methods import MAX_APPROVALS, MAX_BALLOT_IDEAS, MAX_POINTS, RATING_MAX, RATING_MIN
from .models import Method, ResultsVisibility
from .selectors import SHORTLIST_ORDERS


class RoundForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    method = forms.ChoiceField(label=_("Voting method"), choices=Method.choices)
    max_approvals = forms.IntegerField(
        label=_("Approvals per voter (approval)"), min_value=1, max_value=MAX_APPROVALS, initial=3
    )
    points = forms.IntegerField(
        label=_("Points per voter (budget)"), min_value=1, max_value=MAX_POINTS, initial=10
    )
    results_visibility = forms.ChoiceField(
        label=_("Results"),
        choices=ResultsVisibility.choices,
        initial=ResultsVisibility.AFTER_CLOSE,
    )

    def parameters(self) -> dict[str, Any]:
        method = self.cleaned_data["method"]
        if method == Method.APPROVAL:
            return {"max_approvals": self.cleaned_data["max_approvals"]}
        if method == Method.BUDGET:
            return {"points": self.cleaned_data["points"]}
        return {}


class ShortlistForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Most"),
        choices=[
            (SHORTLIST_ORDERS[0], _("discussed")),
            (SHORTLIST_ORDERS[1], _("agreed")),
            (SHORTLIST_ORDERS[2], _("discussed in each theme (one per theme)")),
        ],
    )
    n = forms.IntegerField(label=_("How many"), min_value=1, max_value=MAX_BALLOT_IDEAS, initial=10)


class IdeaPickForm(forms.Form):
    idea = forms.IntegerField(min_value=1)
    remove = forms.BooleanField(required=False)


# Django's own message (django/forms/boundfield.py, translated in Django's
# catalogs): a label ending in one of these takes no suffix.
_LABEL_STOPS = ":?.!"


@dataclass(frozen=True)
class BallotOption:
    """One radio button of a rating field."""

    value: str
    label: str
    id: str
    checked: bool


@dataclass(frozen=True)
class BallotField:
    """What templates/voting/round.html needs to draw one field of a
    ``BallotForm``: the markup Django's form templates would give it (its
    label with the form's suffix, errors tied to the input by
    ``aria-describedby``), without rendering a template per field."""

    name: str
    id: str
    label: str
    value: str | None  # a number input's value attribute; None: no attribute
    checked: bool  # a checkbox's state
    options: list[BallotOption]  # a rating's radio buttons
    min: int | None
    max: int | None
    errors: list[str]

    @property
    def error_id(self) -> str:
        return f"{self.id}_error"


class BallotForm(forms.Form):
    """One field per idea on the ballot, shaped by the round's method.

    The round page draws it from ``rows()``, not ``as_div``: Django's
    template per field (label, errors, widget, each radio) was half of the
    page's CPU on a ballot of 30 ideas.
    """

    def __init__(
        self,
        *args: Any,
        method: str,
        parameters: dict[str, Any],
        ideas: list[Idea],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ideas = ideas
        stars = [(str(n), str(n)) for n in range(RATING_MIN, RATING_MAX + 1)]
        self.rating_choices: list[tuple[str, Any]] = [("", _("No rating")), *stars]
        for idea in ideas:
            name = f"idea_{idea.pk}"
            if method == Method.APPROVAL:
                self.fields[name] = forms.BooleanField(label=idea.title, required=False)
            elif method == Method.RATING:
                self.fields[name] = forms.TypedChoiceField(
                    label=idea.title,
                    choices=self.rating_choices,
                    coerce=int,
                    empty_value=None,
                    required=False,
                    widget=forms.RadioSelect,
                )
            else:
                self.fields[name] = forms.IntegerField(
                    label=idea.title,
                    min_value=0,
                    max_value=int(parameters["points"]),
                    required=False,
                    widget=forms.NumberInput(attrs={"class": "narrow"}),
                )

    def choices(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for idea in self.ideas:
            value = self.cleaned_data.get(f"idea_{idea.pk}")
            if value is True:
                out[idea.pk] = 1
            elif isinstance(value, int) and not isinstance(value, bool):
                out[idea.pk] = value
        return out

    def rows(self) -> list[BallotField]:
        """The fields as ``BallotField`` rows, with the values, checked
        states and errors the form's widgets would show: what was posted for
        a bound form, else the initial ballot."""
        suffix = self.label_suffix
        stops = gettext(_LABEL_STOPS)
        errors = self.errors if self.is_bound else {}
        rows = []
        for name, field in self.fields.items():
            bound = self[name]
            value = bound.value()
            auto_id = bound.auto_id
            label = str(bound.label)
            if suffix and label and label[-1] not in stops:
                label = f"{label}{suffix}"
            options: list[BallotOption] = []
            if isinstance(field, forms.TypedChoiceField):
                selected = "" if value is None else str(value)
                options = [
                    BallotOption(
                        value=choice,
                        label=str(text),
                        id=f"{auto_id}_{i}",
                        checked=choice == selected,
                    )
                    for i, (choice, text) in enumerate(self.rating_choices)
                ]
            rows.append(
                BallotField(
                    name=bound.html_name,
                    id=auto_id,
                    label=label,
                    value=None if value is None or value == "" else str(value),
                    checked=not (value is False or value is None or value == ""),
                    options=options,
                    min=getattr(field, "min_value", None),
                    max=getattr(field, "max_value", None),
                    errors=[str(error) for error in errors.get(name, ())],
                )
            )
        return rows

    @staticmethod
    def initial_for(ballot: dict[int, int], method: str) -> dict[str, Any]:
        if method == Method.APPROVAL:
            return {f"idea_{pk}": True for pk in ballot}
        return {f"idea_{pk}": value for pk, value in ballot.items()}


class PairForm(forms.Form):
    first = forms.IntegerField(min_value=1)
    second = forms.IntegerField(min_value=1)
    choice = forms.ChoiceField(
        choices=[("first", "first"), ("second", "second"), ("undecided", "undecided")]
    )
