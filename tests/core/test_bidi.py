"""The one direction-isolation helper (core/bidi.py) and its template forms."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from core import bidi

LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


def render(source: str, **values) -> str:
    return Template("{% load tamkeen_i18n %}" + source).render(Context(values))


def test_html_form_isolates_left_to_right_and_escapes():
    assert bidi.isolate_html("VIR-2026-12-0042") == '<bdi dir="ltr">VIR-2026-12-0042</bdi>'
    assert bidi.isolate_html("<b>x</b>") == '<bdi dir="ltr">&lt;b&gt;x&lt;/b&gt;</bdi>'
    assert bidi.isolate_html("") == "" and bidi.isolate_html(None) == ""
    assert bidi.isolate_html(0) == '<bdi dir="ltr">0</bdi>'
    assert bidi.isolate_name_html("AGR Nador") == "<bdi>AGR Nador</bdi>"


def test_plain_text_form_uses_unicode_isolates():
    assert bidi.isolate_text("06 12 34 56 78") == f"{LRI}06 12 34 56 78{PDI}"
    assert bidi.isolate_text("") == "" and bidi.isolate_text(None) == ""
    assert bidi.isolate_name_text("Fatima Amrani") == f"{FSI}Fatima Amrani{PDI}"
    assert bidi.isolate_text_if_rtl("60000.00", "ar") == f"{LRI}60000.00{PDI}"
    assert bidi.isolate_text_if_rtl("60000.00", "fr") == "60000.00"


@pytest.mark.parametrize("lang, arrow", [("ar", "←"), ("fr", "→"), ("en", "→")])
def test_the_arrow_follows_the_reading_direction(lang, arrow):
    assert bidi.arrow(lang) == arrow
    with translation.override(lang):
        assert bidi.arrow() == arrow
        assert render("{% arrow %}") == arrow


def test_template_forms():
    assert render("{{ r|ltr }}", r="S123456") == '<bdi dir="ltr">S123456</bdi>'
    assert render("{{ r|ltr_text }}", r="S123456") == f"{LRI}S123456{PDI}"
    assert render("{{ n|name_text }}", n="Nador") == f"{FSI}Nador{PDI}"
    assert render("{{ n|bdi }}", n="AGR Nador (2025)") == "<bdi>AGR Nador (2025)</bdi>"
    # An item number keeps its dot after the digits ("1." and not ".1").
    assert render("{{ i|item_number }}", i=1) == '<bdi dir="ltr">1.</bdi>'


def test_a_form_hint_isolates_its_example_in_the_readers_language():
    from disbursements.forms import AMOUNT_HELP
    from workflow.forms_intake import ApplicationForm

    with translation.override("ar"):
        hint = render("{{ h }}", h=AMOUNT_HELP)
        assert '<bdi dir="ltr">52\u202f500,00</bdi>' in hint and "مثلا" in hint
        phone = render("{{ h }}", h=ApplicationForm.base_fields["phone"].help_text)
        assert phone == 'مثلا <bdi dir="ltr">06 12 34 56 78</bdi>'
    with translation.override("en"):
        assert render("{{ h }}", h=AMOUNT_HELP) == 'In dirhams, tax included, e.g. <bdi dir="ltr">52,500.00</bdi>.'


@pytest.mark.parametrize("typed", ["52 500,00", "52\u202f500,00", "52\u00a0500,00", "52.500,00", "52,500.00", "52500"])
def test_the_amount_parser_reads_what_the_hints_show(typed):
    from core.input import parse_money

    assert parse_money(typed, "amount") == Decimal("52500.00")


def test_the_shown_filter_never_prints_python():
    with translation.override("fr"):
        assert render("{{ v|shown }}", v=[]) == "—"
        assert render("{{ v|shown }}", v=None) == "—"
        assert render("{{ v|shown }}", v=["a", "b"]) == "a, b"
        assert render("{{ v|shown }}", v=True) == "oui"
        assert render('{{ v|shown:"amount" }}', v=Decimal("70000")) == '<bdi dir="ltr">70\u202f000,00</bdi>\u00a0MAD'
        assert render("{{ v|shown }}", v=Decimal("7.5")) == '<bdi dir="ltr">7,50</bdi>'
        assert render("{{ v|shown }}", v=datetime.date(2026, 3, 4)) == '<bdi dir="ltr">04/03/2026</bdi>'
        assert render("{{ v|mad }}", v="70000,00") == '<bdi dir="ltr">70\u202f000,00</bdi>\u00a0MAD'
