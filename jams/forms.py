from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import PHASE_KIND_CHOICES, Jam, Role, Topic
from .phases import MAX_EXTENSION_MINUTES, Transition

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class JamForm(forms.ModelForm[Jam]):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES, initial="UTC")

    class Meta:
        model = Jam
        fields = ["title", "slug", "language", "description", "visibility", "time_zone"]
        help_texts = {"slug": _("Used in addresses: letters, digits and hyphens.")}


class JamEditForm(JamForm):
    class Meta(JamForm.Meta):
        fields = ["title", "language", "description", "visibility", "time_zone"]

    reason = forms.CharField(label=_("Reason (for the audit log)"), required=False)


class TextForm(forms.Form):
    """A jam's or topic's title and description in one other language."""

    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class TopicForm(forms.ModelForm[Topic]):
    facilitators = forms.TypedMultipleChoiceField(
        label=_("Facilitators"), required=False, coerce=int, choices=[]
    )

    class Meta:
        model = Topic
        fields = ["title", "description"]

    def __init__(self, *args: Any, facilitator_choices: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["facilitators"].choices = facilitator_choices  # type: ignore[attr-defined]


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read in the jam's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)


class PhaseForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PHASE_KIND_CHOICES)
    starts_at = LocalDateTimeField(label=_("Starts at"))
    ends_at = LocalDateTimeField(label=_("Ends at"))
    reason = forms.CharField(label=_("Reason (for the audit log)"), required=False)

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        self.tz = zoneinfo.ZoneInfo(time_zone)
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].help_text = _("In the jam's time zone, %(tz)s.") % {
            "tz": time_zone
        }

    def _aware(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            return value.replace(tzinfo=self.tz)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("starts_at", "ends_at"):
            if data.get(name):
                data[name] = self._aware(data[name])
        if data.get("starts_at") and data.get("ends_at") and data["starts_at"] >= data["ends_at"]:
            raise forms.ValidationError(_("A phase must start before it ends."))
        return data


class TransitionForm(forms.Form):
    transition = forms.ChoiceField(choices=[(t.value, t.value) for t in Transition])
    phase = forms.IntegerField(required=False, widget=forms.HiddenInput)
    minutes = forms.IntegerField(
        label=_("Minutes"), required=False, min_value=1, max_value=MAX_EXTENSION_MINUTES
    )
    reason = forms.CharField(label=_("Reason (for the audit log)"), required=False, max_length=500)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.PARTICIPANT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    reason = forms.CharField(label=_("Reason (for the audit log)"), required=False, max_length=500)
