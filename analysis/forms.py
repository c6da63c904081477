from django import forms
from django.utils.translation import gettext_lazy as _

from .services import THEMES_MAX, THEMES_MIN


class RunForm(forms.Form):
    k = forms.IntegerField(
        label=_("Number of themes"),
        required=False,
        min_value=THEMES_MIN,
        max_value=THEMES_MAX,
        help_text=_("Leave empty to let the analysis choose."),
    )


class RenameForm(forms.Form):
    label = forms.CharField(label=_("New label"), max_length=200)


class MergeForm(forms.Form):
    themes = forms.TypedMultipleChoiceField(
        label=_("Themes to merge"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    label = forms.CharField(label=_("Label of the merged theme"), max_length=200, required=False)

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["themes"].choices = choices  # type: ignore[attr-defined]

    def clean_themes(self) -> list[int]:
        themes: list[int] = self.cleaned_data["themes"]
        if len(themes) < 2:
            raise forms.ValidationError(_("Choose at least two themes to merge."))
        return themes
