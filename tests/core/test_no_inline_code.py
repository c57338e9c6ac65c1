"""The templates a browser gets carry no code the Content-Security-Policy would block:
no inline ``<script>``, no ``on…=`` handler, no ``javascript:`` link, no ``<style>``
element (Turbo keeps the first page's policy, so even a nonce would not do: see
docs/security.md). Their behaviour lives in static/tamkeen/tamkeen.js, their rules in
static/tamkeen/tamkeen.css. The browser journeys catch what a template renders at run
time; this catches a new template before any journey opens it."""

import re
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
# Rendered by WeasyPrint into PDF documents, never sent to a browser as a page.
PDF_TEMPLATES = {
    "reporting/templates/reporting/letters/style.html",
    "reporting/templates/reporting/letters/decision_fr.html",
    "reporting/templates/reporting/letters/decision_ar.html",
    "training/templates/training/attestation.html",
    "approvals/templates/approvals/minutes.html",
}
INLINE_CODE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "on…= handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
}
TEMPLATE_COMMENTS = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.S)


def page_templates():
    folders = [BASE_DIR / "templates", *sorted(BASE_DIR.glob("*/templates"))]
    for folder in folders:
        for path in sorted(folder.rglob("*.html")):
            relative = path.relative_to(BASE_DIR).as_posix()
            if relative not in PDF_TEMPLATES:
                yield relative


def test_the_pdf_templates_listed_still_exist():
    assert all((BASE_DIR / name).is_file() for name in PDF_TEMPLATES)


@pytest.mark.parametrize("template", list(page_templates()))
def test_a_page_template_carries_no_inline_code(template):
    text = TEMPLATE_COMMENTS.sub("", (BASE_DIR / template).read_text(encoding="utf-8"))
    found = [what for what, pattern in INLINE_CODE.items() if pattern.search(text)]
    assert not found, f"{template}: {', '.join(found)}"
