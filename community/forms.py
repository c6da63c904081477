from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from ideas.models import Post
from jams.models import Topic

from .models import EmailMode


class GuidelinesForm(forms.Form):
    guidelines = forms.CharField(
        label=_("Participation guidelines"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        max_length=20_000,
        help_text=_("Markdown. Members accept them once before their first post; leave empty "
                    "for none."),
    )  # fmt: skip
    help_topic = forms.ModelChoiceField(
        label=_("Help topic"), queryset=Topic.objects.none(), required=False
    )
    unanswered_minutes = forms.IntegerField(
        label=_("Minutes without a reply before an idea shows on the help radar"),
        min_value=1,
        max_value=7 * 24 * 60,
    )

    def __init__(self, *args: Any, topics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["help_topic"].queryset = topics  # type: ignore[attr-defined]


class HandoffForm(forms.Form):
    handoff_note = forms.CharField(
        label=_("Hand-off note for the next shift"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5_000,
    )


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    topic = forms.ModelChoiceField(label=_("Topic"), queryset=Topic.objects.none())
    host = forms.ModelChoiceField(label=_("Host"), queryset=User.objects.none())
    guest = forms.CharField(label=_("Guest (optional)"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, topics: Any, hosts: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = topics  # type: ignore[attr-defined]
        self.fields["host"].queryset = hosts  # type: ignore[attr-defined]
        self.fields["host"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.time_zone = zoneinfo.ZoneInfo(time_zone)

    def _aware(self, value: datetime) -> datetime:
        # Typed in the jam's time zone, like the schedule.
        return value.replace(tzinfo=self.time_zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("starts_at", "ends_at"):
            if data.get(name) is not None:
                data[name] = self._aware(data[name].replace(tzinfo=None))
        if data.get("starts_at") and data.get("ends_at") and data["starts_at"] >= data["ends_at"]:
            raise forms.ValidationError(_("A session must start before it ends."))
        return data


class QuestionForm(forms.Form):
    body = forms.CharField(
        label=_("Your question"), widget=forms.Textarea(attrs={"rows": 2}), max_length=Post.MAX_BODY
    )


class NotificationSettingsForm(forms.Form):
    email_mode = forms.ChoiceField(
        label=_("Email me about replies, mentions, alerts and sessions"),
        choices=EmailMode.choices,
        widget=forms.RadioSelect,
    )


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label=_("Name or expertise"), required=False, max_length=100)
