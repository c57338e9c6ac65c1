"""``manage.py i18n_sync``: refresh the Arabic, French and English catalogs and say what is
left to translate.

1. Lists the messages of viewflow's pages (its templates and the Python modules that label
   menus, lists, filters, task actions and statuses) into ``core/viewflow_messages.py``:
   viewflow ships no Arabic, so its messages must live in our catalogs, and makemessages
   keeps them there only if a source file of ours names them (makemessages skips locale/).
2. Runs makemessages for ar, fr and en over the project (``.venv``, ``var``,
   ``node_modules``, ``staticfiles``, ``bench`` and ``tests`` ignored), without fuzzy
   guesses and without obsolete entries. A new viewflow message gets viewflow's own translation when viewflow
   ships one for that language (Django's month names get Django's).
3. Checks each catalog with ``msgfmt --check``, compiles the ``.mo`` files and prints, per
   language, the untranslated and fuzzy messages (English is the source language: its
   catalog stays empty on purpose).

``--check`` writes nothing and exits with status 1 when a French or Arabic message is
untranslated or fuzzy (what tests/test_translations.py enforces).
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import django
import polib
import viewflow
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands import makemessages
from django.utils.translation.template import templatize

LANGUAGES = ("ar", "fr", "en")
TRANSLATED = ("ar", "fr")  # English is the language of the msgids
IGNORED = ["var/*", "node_modules/*", "staticfiles/*", "bench/*", "htmlcov/*", "tests/*"]
PLURAL_FORMS = {
    "ar": (
        "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
        "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;"
    ),
    "fr": "nplurals=2; plural=(n > 1);",
    "en": "nplurals=2; plural=(n != 1);",
}
LANGUAGE_TEAMS = {"ar": "Arabic", "fr": "French", "en": "English"}

# The parts of viewflow whose strings reach our pages. Left out: the REST API, the admin,
# import/export, plotly and swagger pages, which Tamkeen does not serve.
VIEWFLOW_PYTHON = [
    "apps.py", "urls", "views", "forms", "fsm/views.py", "fsm/viewset.py", "fsm/base.py",
    "contrib/auth.py", "workflow/apps.py", "workflow/models.py", "workflow/status.py",
    "workflow/base.py", "workflow/activation.py", "workflow/nodes", "workflow/flow",
]
VIEWFLOW_TEMPLATES = [
    "templates/viewflow", "templates/registration", "templates/400.html", "templates/403.html",
    "templates/404.html", "templates/500.html",
]
# Tamkeen deletes nothing through viewflow's generic delete pages (irreversible actions have
# their own confirmation pages), and those pages' plural messages cannot be written for
# Arabic's six forms in a way msgfmt accepts.
VIEWFLOW_TEMPLATES_SKIPPED = (
    "templates/viewflow/contrib/", "templates/viewflow/views/delete_action.html",
    "templates/viewflow/views/confirm_delete.html",
)
# Django's month names, so that a date written with its month name ("4 mars 2026",
# |date:"j F Y") reads the Moroccan way in Arabic (مارس, ماي, يوليوز, غشت, شتنبر, نونبر,
# دجنبر) rather than with the names of Django's Arabic catalog.
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DJANGO_DATE_MESSAGES = [(None, month) for month in MONTHS] + [("alt. month", month) for month in MONTHS]
# viewflow's process panel (templates/viewflow/workflow/process_data.html) lists the fields
# of the flow's process and of its project, labelled with their verbose names; a field
# declared without one gets Django's bare field name ("Created at"), listed here so that the
# panel can translate it.
PROCESS_PANEL_MODELS = ["workflow.GrantProcess", "workflow.GrantProject"]
PROCESS_PANEL_SKIPPED = {"parent_task", "data", "flow_class", "artifact_object_id", "artifact_content_type",
                         "seed_object_id", "seed_content_type", "audit_seq", "audit_head"}
XGETTEXT_KEYWORDS = [
    "--keyword=gettext_noop", "--keyword=gettext_lazy", "--keyword=ngettext_lazy:1,2",
    "--keyword=pgettext:1c,2", "--keyword=npgettext:1c,2,3", "--keyword=pgettext_lazy:1c,2",
    "--keyword=npgettext_lazy:1c,2,3",
]


class _MakeMessages(makemessages.Command):
    """makemessages without msgmerge's fuzzy guesses (a guessed translation of a new
    message is wrong more often than not; a missing one is reported instead)."""

    msgmerge_options = makemessages.Command.msgmerge_options + ["--no-fuzzy-matching"]
    # Some views import gettext as ``_t`` (next to gettext_lazy as ``_``).
    xgettext_options = makemessages.Command.xgettext_options + ["--keyword=_t"]


def _files(root: Path, relative: list[str], suffix: str):
    for name in relative:
        path = root / name
        candidates = [path] if path.is_file() else sorted(path.rglob(f"*{suffix}"))
        for candidate in candidates:
            if candidate.suffix == suffix and "__pycache__" not in candidate.parts:
                yield candidate


def viewflow_messages() -> polib.POFile:
    """Every message of the viewflow modules and templates listed above, with where it
    is used (paths relative to the viewflow package)."""
    root = Path(viewflow.__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        names = []
        for source in _files(root, VIEWFLOW_PYTHON, ".py"):
            target = work / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            names.append(str(target.relative_to(work)))
        for source in _files(root, VIEWFLOW_TEMPLATES, ".html"):
            relative = source.relative_to(root).as_posix()
            if relative.startswith(VIEWFLOW_TEMPLATES_SKIPPED):
                continue
            target = work / (relative + ".py")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(templatize(source.read_text(encoding="utf-8"), origin=str(source)),
                              encoding="utf-8")
            names.append(relative + ".py")
        result = subprocess.run(
            ["xgettext", "--language=Python", "--from-code=UTF-8", "--add-location=file",
             "--no-wrap", "--output=-", *XGETTEXT_KEYWORDS, *names],
            cwd=work, capture_output=True, text=True, check=False,
        )
        if result.returncode:
            raise CommandError(f"xgettext failed on viewflow's sources:\n{result.stderr}")
    catalog = polib.pofile(result.stdout)
    for entry in catalog:
        entry.occurrences = [
            (path.removesuffix(".html.py") + ".html" if path.endswith(".html.py") else path, "")
            for path, _line in entry.occurrences
        ]
    return catalog


def _literal(text: str) -> str:
    return repr(text)


def bare_field_labels() -> list[str]:
    """The labels viewflow's process panel shows for fields declared without a verbose name."""
    from django.apps import apps
    from django.utils.functional import Promise

    labels = set()
    for label in PROCESS_PANEL_MODELS:
        for field in apps.get_model(label)._meta.fields:
            if field.auto_created or field.name in PROCESS_PANEL_SKIPPED or isinstance(field.verbose_name, Promise):
                continue
            labels.add(str(field.verbose_name).capitalize())
    return sorted(labels)


def write_vendor_module(catalog: polib.POFile, path: Path) -> int:
    """Write the msgids as never-run gettext calls makemessages can read."""
    lines = [
        '"""The messages of viewflow\'s pages (and Django\'s month names), listed so that makemessages',
        "keeps them in Tamkeen's catalogs (viewflow ships no Arabic). Generated by ``manage.py i18n_sync``:",
        'do not edit; never imported."""',
        "",
        "# ruff: noqa",
        "from django.utils.translation import gettext_noop, ngettext_lazy, npgettext_lazy, pgettext_lazy",
        "",
        "MESSAGES = [",
    ]
    count = 0
    for entry in sorted(catalog, key=lambda e: (e.msgctxt or "", e.msgid)):
        if not entry.msgid:
            continue
        where = ", ".join(sorted({path for path, _ in entry.occurrences}))
        lines.append(f"    # Translators: viewflow {where}")
        if entry.msgid_plural and entry.msgctxt:
            call = (f"npgettext_lazy({_literal(entry.msgctxt)}, {_literal(entry.msgid)}, "
                    f"{_literal(entry.msgid_plural)}, 1)")
        elif entry.msgid_plural:
            call = f"ngettext_lazy({_literal(entry.msgid)}, {_literal(entry.msgid_plural)}, 1)"
        elif entry.msgctxt:
            call = f"pgettext_lazy({_literal(entry.msgctxt)}, {_literal(entry.msgid)})"
        else:
            call = f"gettext_noop({_literal(entry.msgid)})"
        lines.append(f"    {call},")
        count += 1
    for label in bare_field_labels():
        lines.append("    # Translators: a field of the project shown in viewflow's process panel")
        lines.append(f"    gettext_noop({_literal(label)}),")
    for context, month in DJANGO_DATE_MESSAGES:
        lines.append("    # Translators: Django's month name (Moroccan usage in Arabic)")
        if context:
            lines.append(f"    pgettext_lazy({_literal(context)}, {_literal(month)}),")
        else:
            lines.append(f"    gettext_noop({_literal(month)}),")
    lines.append("]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def catalog_path(lang: str, ext: str = "po") -> Path:
    return Path(settings.LOCALE_PATHS[0]) / lang / "LC_MESSAGES" / f"django.{ext}"


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(s.strip() for s in entry.msgstr_plural.values())
    return bool(entry.msgstr.strip())


def fill_from_vendors(lang: str, catalog: polib.POFile) -> int:
    """Give untranslated messages viewflow's (else Django's) own translation, if it has one."""
    shipped = {}
    for package in (django, viewflow):  # viewflow's wins over Django's
        shipped_path = Path(package.__file__).resolve().parent / (
            "conf/locale" if package is django else "locale") / lang / "LC_MESSAGES" / "django.po"
        if shipped_path.is_file():
            shipped.update({(e.msgctxt, e.msgid): e for e in polib.pofile(str(shipped_path))
                            if e.translated() and "fuzzy" not in e.flags})
    filled = 0
    for entry in catalog:
        source = shipped.get((entry.msgctxt, entry.msgid))
        if source is None or _translated(entry) or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural:
            if len(source.msgstr_plural) != len(entry.msgstr_plural or {0: "", 1: ""}):
                continue
            entry.msgstr_plural = dict(source.msgstr_plural)
        else:
            entry.msgstr = source.msgstr
        filled += 1
    return filled


def fix_header(lang: str, catalog: polib.POFile) -> None:
    """makemessages starts a new catalog with a fuzzy template header; msgfmt drops a fuzzy
    header (no charset, no plural forms)."""
    catalog.metadata_is_fuzzy = []
    if not catalog.metadata.get("Project-Id-Version", "").startswith("Tamkeen"):
        catalog.metadata["Project-Id-Version"] = "Tamkeen"
    catalog.metadata.update({
        "Language": lang,
        "Language-Team": LANGUAGE_TEAMS[lang],
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": PLURAL_FORMS[lang],
    })
    if catalog.metadata.get("Last-Translator", "").startswith("FULL NAME"):
        catalog.metadata["Last-Translator"] = "Tamkeen team"
    if catalog.header.startswith("SOME DESCRIPTIVE TITLE"):
        catalog.header = (
            "Tamkeen message catalog.\nThis file is distributed under the same license as the "
            "Tamkeen package.\n"
        )
    if catalog.metadata.get("PO-Revision-Date", "").startswith("YEAR"):
        catalog.metadata["PO-Revision-Date"] = catalog.metadata.get("POT-Creation-Date", "")


def report(lang: str, catalog: polib.POFile) -> tuple[list[str], list[str]]:
    messages = [e for e in catalog if not e.obsolete and e.msgid]
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [e.msgid for e in messages if not _translated(e) and "fuzzy" not in e.flags]
    return untranslated, fuzzy


class Command(BaseCommand):
    help = (
        "Refresh locale/{ar,fr,en}/LC_MESSAGES/django.po: list viewflow's page messages in "
        "core/viewflow_messages.py, run makemessages (no fuzzy matching, no obsolete entries; "
        ".venv, var, node_modules, staticfiles and tests ignored), check with msgfmt, compile the .mo "
        "files and "
        "report untranslated and fuzzy messages per language. With --check, write nothing and "
        "exit 1 if French or Arabic has any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit 1 if a French or Arabic message is untranslated or fuzzy.")
        parser.add_argument("--no-makemessages", action="store_true",
                            help="Only check, compile and report the catalogs as they are.")
        parser.add_argument("--list", action="store_true", dest="show_all",
                            help="Print every untranslated/fuzzy msgid, not only the first ten.")

    def handle(self, *args, check, no_makemessages, show_all, verbosity, **options):
        base = Path(settings.BASE_DIR)
        vendor = base / "core" / "viewflow_messages.py"
        if not check and not no_makemessages:
            count = write_vendor_module(viewflow_messages(), vendor)
            self.stdout.write(f"viewflow: {count} messages listed in {vendor.relative_to(base)}")
            previous = os.getcwd()
            os.chdir(base)
            try:
                command = _MakeMessages(stdout=self.stdout, stderr=self.stderr)
                command.run_from_argv([
                    "manage.py", "makemessages", *[f"--locale={lang}" for lang in LANGUAGES],
                    *[f"--ignore={pattern}" for pattern in IGNORED],
                    "--extension=html,txt,py", "--no-obsolete", f"--verbosity={max(verbosity - 1, 0)}",
                ])
            finally:
                os.chdir(previous)
        missing = False
        for lang in LANGUAGES:
            path = catalog_path(lang)
            if not path.is_file():
                raise CommandError(f"{path} is missing: run manage.py i18n_sync without --check")
            catalog = polib.pofile(str(path), wrapwidth=79)
            if not check:
                filled = fill_from_vendors(lang, catalog) if lang in TRANSLATED else 0
                fix_header(lang, catalog)
                catalog.save(str(path))
                self._msgfmt(path)
                if filled:
                    self.stdout.write(f"{lang}: {filled} message(s) took viewflow's or Django's translation")
            untranslated, fuzzy = report(lang, catalog)
            total = len([e for e in catalog if e.msgid and not e.obsolete])
            if lang not in TRANSLATED:
                self.stdout.write(f"{lang}: {total} messages (source language, nothing to translate)")
                continue
            missing = missing or bool(untranslated or fuzzy)
            style = self.style.SUCCESS if not (untranslated or fuzzy) else self.style.WARNING
            self.stdout.write(style(
                f"{lang}: {total} messages, {len(untranslated)} untranslated, {len(fuzzy)} fuzzy"
            ))
            for label, msgids in (("untranslated", untranslated), ("fuzzy", fuzzy)):
                for msgid in (msgids if show_all else msgids[:10]):
                    self.stdout.write(f"  {label}: {msgid!r}")
                if not show_all and len(msgids) > 10:
                    self.stdout.write(f"  ... and {len(msgids) - 10} more (--list shows all)")
        if check and missing:
            raise CommandError("some French or Arabic messages are untranslated or fuzzy", returncode=1)

    def _msgfmt(self, po: Path) -> None:
        mo = po.with_suffix(".mo")
        result = subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)],
                                capture_output=True, text=True, check=False)
        if result.returncode:
            raise CommandError(f"msgfmt --check failed on {po}:\n{result.stderr}")
