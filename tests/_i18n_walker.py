"""How tests/core/test_untranslated.py reads a page: its visible text, and which of it is an
untranslated message (see that module's docstring for the rules)."""

import re
from html.parser import HTMLParser

from django.apps import apps
from django.conf import settings
from django.db import models

from tests.core.test_translations import catalog_path, messages_of, parse_po, translations_of

ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
SKIPPED_TAGS = {"script", "style", "template", "svg", "noscript"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ENGLISH_FUNCTION_WORDS = {
    "the", "of", "and", "your", "you", "is", "are", "with", "this", "that", "has", "have", "been",
    "not", "for", "from", "by", "to", "be", "will", "can", "please", "there", "no", "any", "all",
    "was", "were", "which", "its", "it", "into", "than",
}
# Read the same in Arabic: file formats, checksums, the currency code, ID and project codes.
LATIN_ACRONYMS = {"CSV", "PDF", "PNG", "BPMN", "SHA", "MAD", "CIN", "AGR", "RIB", "ICE", "URL"}
LANGUAGE_NAMES = {name for _code, name in settings.LANGUAGES}  # each in its own language
ARABIC = re.compile(r"[\u0600-\u06FF]")
LETTER = re.compile(r"[A-Za-z]")
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]|\{[A-Za-z_][A-Za-z0-9_]*\}")


def normalize(text: str) -> str:
    return " ".join(text.split())


# --- Visible text --------------------------------------------------------------------------

class VisibleText(HTMLParser):
    """The strings a reader sees (or hears through a screen reader) on a page."""

    def __init__(self, page_language: str):
        super().__init__(convert_charrefs=True)
        self.page_language = page_language
        self.stack = []  # (tag, hidden) per open element
        self.texts = []

    @property
    def hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = (attrs.get("lang") or "").split("-")[0]
        hidden = (
            tag in SKIPPED_TAGS
            or (lang and lang != self.page_language)
            or attrs.get("translate") == "no"
            or "material-icons" in (attrs.get("class") or "").split()  # an icon's ligature name
        )
        if not (self.hidden or hidden):
            for name in ATTRIBUTES:
                if attrs.get(name):
                    self.texts.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.texts.append(attrs["value"])
        if tag not in VOID_TAGS:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(data)


def visible_texts(html: str, language: str) -> list[str]:
    parser = VisibleText(language)
    parser.feed(html)
    parser.close()
    return [text for text in (normalize(t) for t in parser.texts) if text]


# --- The catalogs --------------------------------------------------------------------------

class Catalog:
    """What each English msgid should read as in ``language``, from our .po files."""

    def __init__(self, language: str, extra: dict | None = None):
        self.language = language
        self.expected = {}  # normalized msgid -> normalized translations (all plural forms)
        self.french = {}  # normalized French translation -> msgid (fallback detection)
        for entry in messages_of(parse_po(catalog_path(language))):
            sources = [entry["msgid"]] + ([entry["msgid_plural"]] if "msgid_plural" in entry else [])
            for source in sources:
                if LETTER.search(source):  # "#" or "—" read the same in every language
                    self.expected[normalize(source)] = {normalize(t) for t in translations_of(entry)}
        for msgid, translated in (extra or {}).items():
            self.expected[normalize(msgid)] = {normalize(translated)}
        # A translation may read like another msgid (French "Document" for "document"):
        # text that is some message's translation in this language is never untranslated.
        self.translations = set().union(*self.expected.values())
        if language != "fr":  # the site's default language, which Django falls back to
            for entry in messages_of(parse_po(catalog_path("fr"))):
                for french in translations_of(entry):
                    if french.strip() and normalize(french) != normalize(entry["msgid"]):
                        self.french.setdefault(normalize(french), set()).add(normalize(entry["msgid"]))
        self.patterns = [
            (re.compile(self._pattern(msgid)), msgid)
            for msgid in self.expected
            if PLACEHOLDER.search(msgid) and re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", msgid))
        ]

    @staticmethod
    def _pattern(msgid: str) -> str:
        parts = PLACEHOLDER.split(msgid)
        return "^" + "(.+?)".join(re.escape(part) for part in parts) + "$"

    def untranslated(self, text: str) -> str | None:
        """Why ``text`` is an untranslated message, or None."""
        if text in self.translations or text in LANGUAGE_NAMES:
            return None  # (a language picker names each language in itself: « Français »)
        expected = self.expected.get(text)
        if expected is not None and text not in expected:
            return f"English msgid {text!r}"
        for pattern, msgid in self.patterns:
            if text not in self.expected.get(msgid, ()) and pattern.match(text) and not any(
                re.match(self._pattern(t), text) for t in self.expected[msgid] if t
            ):
                return f"English msgid {msgid!r}"
        msgids = sorted(m for m in self.french.get(text, ()) if text not in self.expected.get(m, {text}))
        if msgids:
            return f"French (fallback) text {text!r} of msgid {' / '.join(msgids)!r}"
        return None


def data_strings() -> set[str]:
    """Every text value stored in the database: names, titles, reasons typed by users."""
    found = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField))]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            found.update(normalize(str(value)) for value in row if value and len(str(value)) > 2)
    return found


_DATA_MEMO: dict = {}


def is_data(text: str, data: set[str]) -> bool:
    """Whether ``text`` is stored data, part of it, or made of it: a title, a name and
    its username, a reason. A stored word inside a sentence of other words ("agenda" in
    "... puts it on a committee agenda") does not make the sentence data."""
    key = (text, id(data))
    if key not in _DATA_MEMO:
        folded = text.casefold()
        if any(folded in value.casefold() for value in data):
            _DATA_MEMO[key] = True
        else:
            rest = folded
            for value in _longest_first(data):
                if value in rest:
                    rest = rest.replace(value, " ")
            # What is left once the data is taken out: codes and numbers (any token with a
            # digit: "AGR-2025-00004"), punctuation, or words of a sentence of the page's own.
            rest = re.sub(r"\S*\d\S*", " ", rest)
            _DATA_MEMO[key] = not re.search(r"[^\W\d_]{3,}", rest)
    return _DATA_MEMO[key]


def _longest_first(data: set[str]) -> list[str]:
    key = ("longest first", id(data))
    if key not in _DATA_MEMO:
        _DATA_MEMO[key] = sorted({value.casefold() for value in data}, key=len, reverse=True)
    return _DATA_MEMO[key]


def looks_english(text: str, data: set[str]) -> bool:
    if ARABIC.search(text) or not text.isascii():
        return False
    words = re.findall(r"[A-Za-z]+", text.lower())
    if sum(word in ENGLISH_FUNCTION_WORDS for word in words) < 2 or len(words) < 3:
        return False
    return not is_data(text, data)


def latin_on_an_arabic_page(text: str, data: set[str]) -> bool:
    """Words in Latin letters that are neither data (names, titles, codes) nor acronyms:
    a label no catalog knows, such as a model field's bare name ("Audit seq")."""
    if ARABIC.search(text):
        return False
    tokens = re.findall(r"[^\W_]+", text)  # hashes and codes mix digits in: not words
    words = [t for t in tokens if t.isalpha() and t.isascii() and len(t) >= 3 and t.upper() not in LATIN_ACRONYMS]
    return bool(words) and text not in LANGUAGE_NAMES and not is_data(text, data)


def people_names() -> set[str]:
    """Usernames and names, which pages show as typed or title-cased ("Chair", "Mentor")."""
    from django.contrib.auth import get_user_model

    names = set()
    for username, first, last in get_user_model().objects.values_list("username", "first_name", "last_name"):
        names.update(n.casefold() for n in (username, first, last, f"{first} {last}") if n.strip())
    return names


def problems_on(html: str, language: str, catalog: Catalog, data: set[str], names=frozenset()) -> list[str]:
    found = []
    for text in visible_texts(html, language):
        if text.casefold() in names:
            continue
        reason = catalog.untranslated(text)
        if reason is None and looks_english(text, data):
            reason = f"English text outside the catalogs {text!r}"
        if reason is None and language == "ar" and latin_on_an_arabic_page(text, data):
            reason = f"Latin text on an Arabic page {text!r}"
        if reason:
            found.append(reason)
    return sorted(set(found))
