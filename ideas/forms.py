from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from jams.errors import Invalid
from jams.models import Topic

from .models import Post, ReactionValue
from .search import BEST_MATCH, NO_WORDS, ParsedQuery, parse_query


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


POST_ORDER_LABELS = {
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "agreed": _("Most agreed with"),
    "negative": _("Most negative first"),
    "positive": _("Most positive first"),
}
"""The labels of ideas.selectors.POST_ORDERS, in its order."""

WORDS_ORDER_LABELS = {BEST_MATCH: _("Best match first"), **POST_ORDER_LABELS}
"""The orders of posts found by words (ideas.search.words_order)."""


class WordsForm(forms.Form):
    """Words to look for (ideas/search.py): ``cleaned_data["q"]`` is a ParsedQuery."""

    q = forms.CharField(
        label=_("Search the posts for"),
        required=False,
        strip=True,
        help_text=_(
            "Every word must be there, whatever its case and accents; a word also finds "
            "longer words that start with it. "
            'Put a phrase in "quotes"; a minus leaves a word out (-parking).'
        ),
    )

    def clean_q(self) -> ParsedQuery:
        try:
            return parse_query(self.cleaned_data["q"])
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def query(self) -> ParsedQuery:
        """The words if the form is valid, else none (every post)."""
        return self.cleaned_data["q"] if self.is_valid() else NO_WORDS


class SearchForm(WordsForm):
    """A search of the jam's posts: its words, a topic, an order, and whether
    to show when the posts found were written (a link asks for it: it
    groups every post of the jam by the hour, which costs more than the
    search itself in a large jam)."""

    topic = forms.TypedChoiceField(label=_("Topic"), required=False, coerce=int, empty_value=None)
    order = forms.ChoiceField(label=_("Order"), required=False, choices=WORDS_ORDER_LABELS.items())
    when = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, topics: Sequence[Topic] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["topic"].choices = [("", _("All topics"))] + [  # type: ignore[attr-defined]
            (topic.pk, topic.local.title) for topic in topics
        ]
