import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import User

TIME_ZONES = [("", _("Use the jam's time zone"))] + [
    (tz, tz) for tz in sorted(zoneinfo.available_timezones())
]


class ProfileForm(forms.ModelForm[User]):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("From my browser")), *settings.LANGUAGES],
        required=False,
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONES, required=False)

    class Meta:
        model = User
        fields = ["name", "language", "time_zone"]


class PublicProfileForm(forms.ModelForm[User]):
    """The public profile (saved by community.services.profile_update)."""

    class Meta:
        model = User
        fields = ["job_title", "organization_unit", "location", "expertise"]
        help_texts = {"expertise": _("Comma-separated, e.g. urban planning, data science.")}


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo"), help_text=_("JPEG, PNG or WebP, up to 5 MB; shown square, 256 px.")
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password
