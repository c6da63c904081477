"""The report as a PDF, rendered in-process by WeasyPrint from the same templates.

WeasyPrint lays out HTML and CSS (``@page`` rules for the title page and page
numbers) and draws inline SVG itself, so the charts of the page are the
charts of the PDF. It fetches nothing: the stylesheet is read from the
static files and every other URL (images, fonts, links' targets are not
fetched anyway) is refused, so text in a post cannot make the server load
anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

if TYPE_CHECKING:
    from .report import Report

STYLESHEET = "css/report.css"


def report_html(report: Report) -> str:
    site = getattr(settings, "JAM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    return render_to_string(
        "analysis/report_pdf.html", {"report": report, "jam": report.jam, "site": site}
    )


def report_pdf(report: Report) -> bytes:
    import weasyprint
    from weasyprint.urls import URLFetcher

    # No protocol allowed: every fetch is refused (and skipped with a warning).
    refuse = URLFetcher(allowed_protocols=frozenset())
    path = finders.find(STYLESHEET)
    if not isinstance(path, str):
        raise FileNotFoundError(STYLESHEET)
    document = weasyprint.HTML(string=report_html(report), url_fetcher=refuse)
    stylesheet = weasyprint.CSS(filename=path, url_fetcher=refuse)
    pdf = document.write_pdf(stylesheets=[stylesheet])
    if pdf is None:  # only when writing to a target
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)
