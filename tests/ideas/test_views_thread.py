"""What the thread page shows of each post, to whom (ideas/templatetags/thread_tags.py).

The page is parsed, and each assertion is about one post's own element, so
a form or label rendered on the wrong post, at the wrong nesting, or for the
wrong viewer fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from ideas.models import Idea, Post, Reaction
from ideas.selectors import thread_for_idea
from ideas.templatetags.thread_tags import TreeSlot
from jams.models import Jam, Role
from jams.phases import Stage
from tests.factories import idea_in, jam_in_stage, member

pytestmark = pytest.mark.django_db

VOID = {"input", "br", "hr", "img", "meta", "link"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(
                child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()
            ):
                found.append(child)
            found += child.all(tag, **attrs)
        return found

    def own(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Matches inside this post, not inside its replies."""
        replies = self.all("div", data_replies="")
        nested = {id(e) for r in replies for e in r.all()}
        return [e for e in self.all(tag, **attrs) if id(e) not in nested]

    def full_text(self) -> str:
        return self.text + "".join(child.full_text() for child in self.children)


class Tree(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.root = Element("root", {})
        self.stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack[-1].tag != tag:
            self.stack.pop()
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Element("#text", {}, text=data))


@dataclass
class Page:
    tree: Element

    def post(self, post: Post) -> Element:
        (article,) = self.tree.all("article", id=f"post-{post.pk}")
        return article


def page(client: Client, idea: Idea, **headers: str) -> Page:
    response = client.get(reverse("ideas:idea", args=[idea.jam.slug, idea.pk]), headers=headers)
    assert response.status_code == 200
    return Page(Tree(response.content.decode()).root)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Thread:
    jam: Jam
    idea: Idea
    alice: User
    bob: User
    opening: Post
    by_alice: Post
    by_bob: Post
    nested: Post


def thread_in(stage: Stage) -> Thread:
    jam = jam_in_stage(stage)
    alice, bob = member(jam, name="Alice <b>A</b>"), member(jam, name="Bob")
    idea = idea_in(jam, title="Thread")
    opening = Post.objects.get(idea=idea, parent=None)

    def reply(author: User, parent: Post, text: str) -> Post:
        return Post.objects.create(
            jam=jam, topic=idea.topic, idea=idea, parent=parent, depth=parent.depth + 1,
            author=author, body=text, body_html=f"<p>{text}</p>", agree_count=3,
        )  # fmt: skip

    by_alice = reply(alice, opening, "first")
    by_bob = reply(bob, opening, "second")
    nested = reply(bob, by_alice, "answer to first")
    return Thread(jam, idea, alice, bob, opening, by_alice, by_bob, nested)


def test_replies_nest_inside_their_parent() -> None:
    t = thread_in(Stage.DISCUSSION)
    shown = page(signed_in(t.alice), t.idea)
    (replies,) = shown.post(t.by_alice).own("div", data_replies="")
    assert [a.attrs["id"] for a in replies.children if a.tag == "article"] == [
        f"post-{t.nested.pk}"
    ]
    (top,) = shown.post(t.opening).own("div", data_replies="")
    assert [a.attrs["id"] for a in top.children if a.tag == "article"] == [
        f"post-{t.by_alice.pk}",
        f"post-{t.by_bob.pk}",
    ]
    body = shown.post(t.nested).own("div", data_body="")[0]
    assert body.full_text() == "answer to first"


def test_each_post_is_labelled_by_its_escaped_author() -> None:
    t = thread_in(Stage.DISCUSSION)
    article = page(signed_in(t.bob), t.idea).post(t.by_alice)
    assert article.attrs["aria-labelledby"] == f"post-{t.by_alice.pk}-author"
    (author,) = article.own(id=f"post-{t.by_alice.pk}-author")
    assert author.full_text() == "Alice <b>A</b>"  # text, not markup
    assert not article.own("b")


def test_the_viewers_reaction_is_pressed_and_counts_are_shown() -> None:
    t = thread_in(Stage.DISCUSSION)
    Reaction.objects.create(post=t.by_bob, user=t.alice, value="disagree")
    article = page(signed_in(t.alice), t.idea).post(t.by_bob)
    (form,) = article.own("form", data_react="")
    assert form.attrs["action"] == reverse("ideas:react", args=[t.jam.slug, t.by_bob.pk])
    pressed = {b.attrs["value"]: b.attrs["aria-pressed"] for b in form.all("button")}
    assert pressed == {"agree": "false", "disagree": "true", "pass": "false"}
    assert [s.full_text() for s in form.all("span")] == ["3", "0", "0"]
    assert not any("disabled" in b.attrs for b in form.all("button"))
    other = page(signed_in(t.bob), t.idea).post(t.by_bob)
    assert {b.attrs["aria-pressed"] for b in other.own("button", name="value")} == {"false"}


def test_edit_on_own_posts_flag_on_others() -> None:
    t = thread_in(Stage.DISCUSSION)
    shown = page(signed_in(t.alice), t.idea)
    own, other = shown.post(t.by_alice), shown.post(t.by_bob)
    edit = reverse("ideas:edit", args=[t.jam.slug, t.by_alice.pk])
    assert [a.attrs["href"] for a in own.own("a") if "edit" in a.attrs["href"]] == [edit]
    assert not [a for a in other.own("a") if "edit" in a.attrs["href"]]
    assert not own.own("details", **{"class": "flag"})
    (flag,) = other.own("details", **{"class": "flag"})
    (label,) = flag.all("label")
    assert label.attrs["for"] == f"flag-{t.by_bob.pk}"
    assert flag.all("input", id=f"flag-{t.by_bob.pk}")
    assert flag.all("form")[0].attrs["action"] == reverse(
        "ideas:flag", args=[t.jam.slug, t.by_bob.pk]
    )


def test_every_reply_form_names_its_parent_and_has_a_labelled_field() -> None:
    t = thread_in(Stage.DISCUSSION)
    shown = page(signed_in(t.alice), t.idea)
    for post in (t.opening, t.by_alice, t.by_bob, t.nested):
        (details,) = shown.post(post).own("details", **{"class": "reply"})
        (form,) = details.all("form")
        assert form.attrs["action"] == t.idea.get_absolute_url()
        assert form.all("input", name="parent")[0].attrs["value"] == str(post.pk)
        assert form.all("label")[0].attrs["for"] == f"reply-{post.pk}"
        assert form.all("textarea", id=f"reply-{post.pk}")


def test_every_form_carries_a_csrf_token_that_the_server_accepts() -> None:
    t = thread_in(Stage.DISCUSSION)
    client = Client(enforce_csrf_checks=True)
    client.force_login(t.alice)
    shown = page(client, t.idea)
    forms = shown.post(t.by_bob).own("form")
    assert len(forms) == 3  # react, reply, flag
    for form in forms:
        assert form.all("input", name="csrfmiddlewaretoken")
    (form,) = shown.post(t.by_bob).own("form", data_react="")
    token = form.all("input", name="csrfmiddlewaretoken")[0].attrs["value"]
    response = client.post(form.attrs["action"], {"csrfmiddlewaretoken": token, "value": "agree"})
    assert response.status_code == 302
    assert Reaction.objects.get(post=t.by_bob, user=t.alice).value == "agree"


def test_outside_the_discussion_the_thread_is_read_only() -> None:
    t = thread_in(Stage.VOTING)
    article = page(signed_in(t.alice), t.idea).post(t.by_bob)
    assert all("disabled" in b.attrs for b in article.own("button", name="value"))
    assert not article.own("details", **{"class": "reply"})
    assert not [a for a in article.own("a") if "edit" in a.attrs.get("href", "")]


def test_hidden_posts_show_a_note_to_members_and_the_reason_to_staff() -> None:
    t = thread_in(Stage.DISCUSSION)
    Post.objects.filter(pk=t.by_bob.pk).update(hidden_at=timezone.now(), hidden_reason="<spam>")
    member_view = page(signed_in(t.alice), t.idea).post(t.by_bob)
    assert "hidden-post" in member_view.attrs["class"].split()
    assert not member_view.own("div", data_body="")
    assert not member_view.own("details", **{"class": "moderate"})
    (note,) = member_view.own("p", **{"class": "hidden-note"})
    assert "<spam>" not in note.full_text()

    facilitator = member(t.jam, Role.FACILITATOR)
    staff_view = page(signed_in(facilitator), t.idea).post(t.by_bob)
    (note,) = staff_view.own("p", **{"class": "hidden-note"})
    assert "<spam>" in note.full_text()  # escaped in the markup, shown as text
    assert staff_view.own("div", data_body="")[0].full_text() == "second"
    (moderate,) = staff_view.own("details", **{"class": "moderate"})
    assert moderate.all("button", name="restore")
    assert moderate.all("form")[0].attrs["action"] == reverse(
        "ideas:hide", args=[t.jam.slug, t.by_bob.pk]
    )
    # Visible posts offer "hide" to staff, never "restore".
    (moderate,) = (
        page(signed_in(facilitator), t.idea)
        .post(t.by_alice)
        .own("details", **{"class": "moderate"})
    )
    assert not moderate.all("button", name="restore")


def test_deleted_authors_and_edits_are_labelled_in_the_viewers_language() -> None:
    t = thread_in(Stage.DISCUSSION)
    Post.objects.filter(pk=t.by_bob.pk).update(author=None, edited_at=timezone.now())
    english = page(signed_in(t.alice), t.idea).post(t.by_bob)
    french = page(signed_in(t.alice), t.idea, accept_language="fr").post(t.by_bob)
    author = f"post-{t.by_bob.pk}-author"
    assert english.own(id=author)[0].full_text() == "deleted member"
    assert french.own(id=author)[0].full_text() == "membre supprimé"
    assert english.own("span", data_edited="")
    labels = [b.full_text().split()[0] for b in french.own("button", name="value")]
    english_labels = [b.full_text().split()[0] for b in english.own("button", name="value")]
    assert english_labels == ["Agree", "Disagree", "Pass"]
    assert labels != english_labels


def test_the_tree_spliced_into_the_response_is_what_the_tag_prints_in_place() -> None:
    """``{% post_tree ... slot=... %}`` then ``TreeSlot.fill`` gives the bytes
    of the tree printed in place, around text of every width (Latin-1, the
    breadcrumb's two-byte characters, an emoji), and leaves no marker."""
    t = thread_in(Stage.DISCUSSION)
    Post.objects.filter(pk=t.by_bob.pk).update(body_html="<p>Zoë says 🎉 ✓</p>")
    thread = thread_for_idea(idea=t.idea, user_id=t.alice.pk)
    context = {
        "jam": t.jam, "idea": t.idea, "user": t.alice, "staff": True, "csrf_token": "token",
        "can": {"react": True, "post": True, "flag": True}, "node": thread.opening,
    }  # fmt: skip
    around = "{% load thread_tags %}<p>é \u203a ⚠ 🎉</p>{% post_tree node SLOT %}<p>…</p>"
    in_place = Template(around.replace("SLOT", "")).render(Context(context))
    slot = TreeSlot()
    marked = Template(around.replace("SLOT", "slot=slot")).render(
        Context({**context, "slot": slot})
    )
    assert slot.marker in marked
    assert "Zoë says 🎉" not in marked
    filled = slot.fill(HttpResponse(marked))
    assert filled.content == in_place.encode()
    assert "Zoë says 🎉" in in_place


def test_the_page_carries_the_tree_and_no_marker() -> None:
    t = thread_in(Stage.DISCUSSION)
    Post.objects.filter(pk=t.by_bob.pk).update(body_html="<p>Zoë says 🎉</p>")
    response = signed_in(t.alice).get(reverse("ideas:idea", args=[t.jam.slug, t.idea.pk]))
    html = response.content.decode()
    assert "<!--post-tree-" not in html
    assert int(response.headers["Content-Length"]) == len(response.content)
    (thread,) = Tree(html).root.all("div", data_thread="")
    (opening,) = [child for child in thread.children if child.tag == "article"]
    assert opening.attrs["id"] == f"post-{t.opening.pk}"
    assert Page(thread).post(t.by_bob).own("div", data_body="")[0].full_text() == "Zoë says 🎉"
