from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Post, ReactionValue


class IdeaForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=Post.MAX_TITLE)
    body = forms.CharField(
        label=_("Your idea"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=Post.MAX_BODY,
        help_text=_("Markdown: **bold**, *italic*, lists, links. Mention someone with @name."),
    )
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=Post.MAX_BODY
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class EditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=Post.MAX_TITLE, required=False)
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), max_length=Post.MAX_BODY
    )


class ReactForm(forms.Form):
    value = forms.ChoiceField(choices=ReactionValue.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Merge into idea number"), min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class AlertForm(forms.Form):
    text = forms.CharField(label=_("Alert to everyone in the jam"), max_length=280)
