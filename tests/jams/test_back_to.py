"""Where a jam form redirects to after it was posted (jams/responses.py
back_to): its ``next`` or the referring page, on this site only. Found by
tests/security/test_fuzz_forms.py: ``next=0`` reached ``redirect("0")``,
which took it for a view name and answered with a server error."""

from __future__ import annotations

import pytest
from django.shortcuts import redirect
from django.test import RequestFactory

from jams.responses import back_to

DEFAULT = "/jams/demo/ideas/1/"


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/jams/demo/", "/jams/demo/"),
        ("http://testserver/jams/demo/", "http://testserver/jams/demo/"),
        ("0", DEFAULT),  # a bare word: a view name for redirect()
        ("jams", DEFAULT),
        ("  ", DEFAULT),
        ("//evil.example/", DEFAULT),
        ("https://evil.example/jams/", DEFAULT),
        ("javascript:alert(1)", DEFAULT),
    ],
)
def test_next_is_followed_only_to_this_site(next_: str, expected: str) -> None:
    request = RequestFactory().post("/jams/demo/posts/1/hide/", {"next": next_})
    target = back_to(request, DEFAULT)
    assert target == expected
    assert redirect(target).url == expected  # never NoReverseMatch


def test_the_referring_page_when_next_is_unusable() -> None:
    request = RequestFactory().post(
        "/jams/demo/posts/1/hide/", {"next": "0"}, HTTP_REFERER="http://testserver/jams/demo/"
    )
    assert back_to(request, DEFAULT) == "http://testserver/jams/demo/"
    request = RequestFactory().post("/jams/demo/posts/1/hide/", HTTP_REFERER="0")
    assert back_to(request, DEFAULT) == DEFAULT
    request = RequestFactory().post("/jams/demo/posts/1/hide/")
    assert back_to(request) == "/jams/demo/posts/1/hide/"
