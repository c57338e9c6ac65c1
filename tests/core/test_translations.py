"""The French and Arabic message catalogs (locale/<lang>/LC_MESSAGES/django.po and .mo).

Part (a) reads the .po files with a tiny parser (no polib): every message is translated,
none is fuzzy, every placeholder and HTML entity of a msgid is kept, the plural forms are
the ones of each language, and the committed .mo says the same as the .po (the .mo files are
committed so a fresh machine needs no gettext). Part (b) checks, through Django's
``translation.override``, that the coded error messages and the project states read in
French and in Arabic, with the DOMAIN.md vocabulary. Part (c) checks amounts (MAD), numbers
and dates (Gregorian DD/MM/YYYY) in each language's format.
"""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

import approvals.exceptions  # noqa: F401  (registers the committee's coded errors)
from core.exceptions import TamkeenError
from core.roles import Role
from workflow.models import ProjectState

LANGUAGES = ("fr", "ar")
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "ar": (
        "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
        "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;"
    ),
}
ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
# %(name)s, %(n)d, %(share)s ... ; unnamed directives (%s, %d, % o) are counted apart.
NAMED_PERCENT = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
UNNAMED_PERCENT = re.compile(r"%(?!\()[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
HTML_ENTITY = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
# msgids whose translation may legitimately carry no Arabic letter.
NO_ARABIC_NEEDED = {"SHA-256"}


def catalog_path(lang: str, ext: str = "po") -> Path:
    return Path(settings.LOCALE_PATHS[0]) / lang / "LC_MESSAGES" / f"django.{ext}"


# --- A tiny PO parser ---------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$')


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def parse_po(path: Path) -> list[dict]:
    """Entries as dicts: ``flags`` (set), ``obsolete`` (bool), ``line`` and the fields
    (``msgid``, ``msgid_plural``, ``msgstr`` or ``msgstr[i]``, ``msgctxt``)."""
    entries, entry, key = [], None, None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            entry = key = None
            continue
        if line.startswith("#~"):
            if entry is None:
                entry = {"flags": set(), "obsolete": True, "line": number}
                entries.append(entry)
            entry["obsolete"] = True
            continue
        if line.startswith("#"):
            if entry is None or any(k.startswith("msg") for k in entry):
                entry = {"flags": set(), "obsolete": False, "line": number}
                entries.append(entry)
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        field = _FIELD.match(line)
        if field:
            key = field.group(1)
            starts_entry = key in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in entry or {})
            if entry is None or starts_entry:
                entry = {"flags": set(), "obsolete": False, "line": number}
                entries.append(entry)
            entry[key] = _unquote(field.group(2))
        elif line.startswith('"') and key is not None:
            entry[key] += _unquote(line)
        else:
            raise AssertionError(f"{path}:{number}: cannot parse {line!r}")
    return [e for e in entries if not e["obsolete"] and "msgid" in e]


def translations_of(entry: dict) -> list[str]:
    return [entry[k] for k in sorted(k for k in entry if k.startswith("msgstr"))]


def header_of(entries: list[dict]) -> tuple[dict, dict]:
    header = next(e for e in entries if e["msgid"] == "" and "msgctxt" not in e)
    fields = dict(line.split(": ", 1) for line in header["msgstr"].splitlines() if ": " in line)
    return header, fields


def messages_of(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["msgid"] != "" or "msgctxt" in e]


def placeholders(text: str, flags: set) -> dict:
    found = {"named": sorted(set(NAMED_PERCENT.findall(text))), "brace": sorted(set(BRACE.findall(text))),
             "entities": sorted(set(HTML_ENTITY.findall(text)))}
    if "no-python-format" in flags:
        found["named"] = []
    if "python-format" in flags:
        found["unnamed"] = len(UNNAMED_PERCENT.findall(text.replace("%%", "")))
    return found


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request):
    lang = request.param
    path = catalog_path(lang)
    assert path.is_file(), f"{path} is missing: run makemessages -l {lang}"
    return lang, parse_po(path)


# --- (a) The catalogs ---------------------------------------------------------------------

def test_the_header_names_the_language_utf8_and_its_plural_forms(catalog):
    lang, entries = catalog
    header, fields = header_of(entries)
    assert "fuzzy" not in header["flags"], "a fuzzy header is dropped by msgfmt (no charset, no plurals)"
    assert fields["Language"] == lang
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == PLURAL_FORMS[lang]


def test_every_message_is_translated_and_none_is_fuzzy(catalog):
    lang, entries = catalog
    messages = messages_of(entries)
    assert len(messages) > 300
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in messages if not all(s.strip() for s in translations_of(e))]
    assert not fuzzy, f"{lang}: fuzzy entries: {fuzzy}"
    assert not untranslated, f"{lang}: untranslated entries: {untranslated}"


def test_every_placeholder_and_entity_of_a_msgid_is_kept(catalog):
    lang, entries = catalog
    problems = []
    for entry in messages_of(entries):
        sources = [entry["msgid"]] + ([entry["msgid_plural"]] if "msgid_plural" in entry else [])
        for source in sources:
            expected = placeholders(source, entry["flags"])
            for index, translated in enumerate(translations_of(entry)):
                got = placeholders(translated, entry["flags"])
                for kind in ("named", "brace", "entities"):
                    missing = set(expected[kind]) - set(got[kind])
                    if missing:
                        problems.append((entry["line"], source, index, kind, sorted(missing)))
                if "unnamed" in expected and got["unnamed"] != expected["unnamed"]:
                    problems.append((entry["line"], source, index, "unnamed", got["unnamed"]))
    assert not problems, f"{lang}: placeholders lost: {problems}"


def test_plural_entries_have_every_form_of_the_language(catalog):
    lang, entries = catalog
    nplurals = int(re.search(r"nplurals=(\d+)", PLURAL_FORMS[lang]).group(1))
    for entry in messages_of(entries):
        if "msgid_plural" in entry:
            keys = sorted(k for k in entry if k.startswith("msgstr["))
            assert keys == [f"msgstr[{i}]" for i in range(nplurals)], (lang, entry["msgid"], keys)


def test_arabic_translations_are_in_arabic():
    entries = parse_po(catalog_path("ar"))
    not_arabic = [
        e["msgid"] for e in messages_of(entries)
        if e["msgid"] not in NO_ARABIC_NEEDED
        and re.search(r"[A-Za-z]", BRACE.sub("", NAMED_PERCENT.sub("", e["msgid"])))  # has words
        and not all(ARABIC_LETTER.search(s) for s in translations_of(e))
    ]
    assert not not_arabic, not_arabic


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_file_says_what_the_po_file_says(lang):
    mo = catalog_path(lang, "mo")
    assert mo.is_file(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.info().get("language") == lang
    assert compiled.info().get("plural-forms") == PLURAL_FORMS[lang]
    stale = []
    for entry in messages_of(parse_po(catalog_path(lang))):
        if "msgctxt" in entry:
            continue
        if "msgid_plural" in entry:
            forms = translations_of(entry)
            nplurals = len(forms)
            for n in (0, 1, 2, 3, 5, 10, 11, 99, 100, 101, 102, 111):
                index = _plural_index(lang, n)
                assert index < nplurals
                if compiled.ngettext(entry["msgid"], entry["msgid_plural"], n) != forms[index]:
                    stale.append((entry["msgid"], n))
        elif compiled.gettext(entry["msgid"]) != entry["msgstr"]:
            stale.append(entry["msgid"])
    assert not stale, f"{lang}: the .mo is older than the .po, run compilemessages: {stale}"


def _plural_index(lang: str, n: int) -> int:
    if lang == "fr":
        return int(n > 1)
    if n in (0, 1, 2):
        return n
    if 3 <= n % 100 <= 10:
        return 3
    if n % 100 >= 11:
        return 4
    return 5


# --- (b) At runtime -----------------------------------------------------------------------

def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


CODED_ERRORS = sorted({TamkeenError, *_subclasses(TamkeenError)}, key=lambda c: (c.__module__, c.__name__))


def _english(text) -> str:
    with translation.override("en"):
        return str(text)


@pytest.mark.parametrize("error", CODED_ERRORS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_coded_error_messages_are_translated(error):
    english = _english(error.default_message)
    with translation.override("fr"):
        french = str(error.default_message)
        assert french != english, (error.code, french)
    with translation.override("ar"):
        arabic = str(error.default_message)
        assert arabic != english, (error.code, arabic)
        assert ARABIC_LETTER.search(arabic), (error.code, arabic)


@pytest.mark.parametrize("choices", [ProjectState, Role], ids=lambda c: c.__name__)
def test_state_and_role_labels_are_translated(choices):
    for value, label in choices.choices:
        english = _english(label)
        with translation.override("fr"):
            assert str(label) != english, (value, str(label))
        with translation.override("ar"):
            arabic = str(label)
            assert arabic != english, (value, arabic)
            assert ARABIC_LETTER.search(arabic), (value, arabic)


@pytest.mark.parametrize("msgid, french, arabic", [
    ("Minutes of the committee session", "Procès-verbal de la session du comité", "محضر دورة اللجنة"),
    ("committee session", "session du comité", "دورة اللجنة"),
    ("minutes", "procès-verbal", "المحضر"),
    ("approve", "approuver", "المصادقة"),
    ("reject", "rejeter", "الرفض"),
    ("request revision", "demander une révision", "طلب المراجعة"),
    ("eligible", "éligible", "مؤهل"),
    ("ineligible", "non éligible", "غير مؤهل"),
    ("beneficiary", "bénéficiaire", "المستفيدة"),
    ("program officer", "chargé(e) de programme", "المكلف بالبرنامج"),
    ("trainer", "formateur", "مكوّن"),
    ("mentor", "accompagnateur", "مؤطر"),
    ("authorizing officer", "ordonnateur", "الآمر بالصرف"),
    ("treasurer", "comptable", "المحاسب"),
    ("auditor", "auditeur", "المدقق"),
    ("quote (devis)", "devis", "عرض أثمان"),
    ("receipt report (PV de réception)", "PV de réception", "محضر التسلم"),
])
def test_the_domain_vocabulary_is_used(msgid, french, arabic):
    with translation.override("fr"):
        assert _(msgid) == french
    with translation.override("ar"):
        assert _(msgid) == arabic


def test_amounts_in_arabic_messages_are_in_dirhams():
    msgid = "The requested amount exceeds the ceiling of %(ceiling)s MAD."
    with translation.override("fr"):
        assert _(msgid) % {"ceiling": "150000.00"} == "Le montant demandé dépasse le plafond de 150000.00 MAD."
    with translation.override("ar"):
        text = _(msgid) % {"ceiling": "150000.00"}
        assert "150000.00 د.م." in text and "MAD" not in text


# --- (c) Numbers, amounts and dates per locale (config/formats, core/money.py) ------------

# One format per language (docs/i18n.md): narrow no-break spaces (U+202F) between groups in
# French and Arabic, the Arabic digits between isolates (LRI … PDI) before د.م., a no-break
# space before the currency.
@pytest.mark.parametrize("lang, amount, expected", [
    ("fr", "1234567.5", "1\u202f234\u202f567,50\u00a0MAD"),
    ("ar", "1234567.5", "\u20661\u202f234\u202f567,50\u2069\u00a0د.م."),
    ("en", "1234567.5", "1,234,567.50\u00a0MAD"),
    ("fr", "-45000", "-45\u202f000,00\u00a0MAD"),
    ("ar", "0.005", "\u20660,01\u2069\u00a0د.م."),
    ("fr", "70000,00", "70\u202f000,00\u00a0MAD"),  # a value typed and stored as text
])
def test_amounts_read_in_the_locale_format(lang, amount, expected):
    from core.money import format_mad

    assert format_mad(amount, lang) == expected
    with translation.override(lang):
        assert format_mad(amount) == expected


@pytest.mark.parametrize("lang, expected", [
    ("fr", '<bdi dir="ltr">150\u202f000,00</bdi>\u00a0MAD'),
    ("ar", '<bdi dir="ltr">150\u202f000,00</bdi>\u00a0د.م.'),
    ("en", '<bdi dir="ltr">150,000.00</bdi>\u00a0MAD'),
])
def test_amounts_on_pages_in_one_format_per_language(lang, expected):
    """The |mad filter (pages) and format_mad_html agree; the currency stays outside the
    isolated digits, so د.م. keeps its dots on the right side."""
    from django.template import Context, Template

    from core.money import format_mad_html

    assert format_mad_html("150000", lang) == expected
    with translation.override(lang):
        assert Template("{% load tamkeen_i18n %}{{ a|mad }}").render(Context({"a": 150000})) == expected
        assert Template("{% load approvals_format %}{{ a|mad }}").render(Context({"a": 150000})) == expected


@pytest.mark.parametrize("lang", ["fr", "ar", "en"])
def test_dates_are_gregorian_day_month_year_in_every_language(lang):
    import datetime

    from django.template import Context, Template
    from django.utils import formats

    day = datetime.date(2026, 3, 4)
    moment = datetime.datetime(2026, 3, 4, 9, 5)
    with translation.override(lang):
        assert formats.date_format(day) == "04/03/2026"
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == "04/03/2026"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "04/03/2026 09:05"
        assert Template('{{ d|date }} {{ d|date:"DATE_FORMAT" }}').render(Context({"d": day})) == "04/03/2026 04/03/2026"
        # What a user types in the same order is read back (and ISO always is).
        from django import forms

        assert forms.DateField().clean("04/03/2026") == day
        assert forms.DateField().clean("2026-03-04") == day
        assert forms.DateTimeField().clean("04/03/2026 09:05").replace(tzinfo=None) == moment


@pytest.mark.parametrize("lang, expected", [("fr", "1234,5"), ("ar", "1234,5"), ("en", "1234.5")])
def test_decimal_marks_follow_the_locale(lang, expected):
    from decimal import Decimal

    from django.utils import formats

    with translation.override(lang):
        assert formats.number_format(Decimal("1234.5")) == expected
        assert formats.number_format(Decimal("1234.5"), use_l10n=True, force_grouping=True) == (
            {"fr": "1.234,5", "ar": "1.234,5", "en": "1,234.5"}[lang]
        )


def test_arabic_month_names_are_the_moroccan_ones():
    import datetime

    from django.template import Context, Template

    names = {5: "ماي", 7: "يوليوز", 8: "غشت", 9: "شتنبر", 11: "نونبر", 12: "دجنبر"}
    with translation.override("ar"):
        for month, name in names.items():
            day = datetime.date(2026, month, 4)
            assert Template('{{ d|date:"j F Y" }}').render(Context({"d": day})) == f"4 {name} 2026"
