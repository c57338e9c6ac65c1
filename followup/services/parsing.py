"""The follow-up forms' input, parsed: a visit report's fields and the equipment
recovered at an abandonment. Every bad field is reported at once, as ``invalid_input``
with one message per field (a refused attachment alone keeps its own code, see
``core.uploads``); nothing here touches the database."""

from datetime import date as date_type

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput
from core.input import clean_text, parse_money, require_text
from core.uploads import accept_upload
from followup.models import IncomeControl, LegalStatus, Recommendation, SalesChannel
from workflow.models import Outcome

MAX_TEXT = 2000
MAX_JOBS = 999


def collect(errors, field, parse):
    try:
        return parse()
    except InvalidInput as exc:
        for name, messages in exc.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        return None


def fail(field, message):
    raise InvalidInput(field_errors={field: [message]})


def parse_yes_no(value, field):
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    fail(field, _("Answer yes or no."))


def parse_signed_money(value, field):
    """A MAD amount that may be negative (a loss), at most two decimals."""
    if isinstance(value, float):
        fail(field, _("Amounts must be given as decimals, not floats."))
    text = str(value if value is not None else "").strip().replace(" ", "").replace(",", ".")
    negative = text.startswith("-")
    magnitude = parse_money(text[1:] if negative else text, field, allow_zero=True)
    return -magnitude if negative else magnitude


def parse_count(value, field, maximum):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if number < 0 or number > maximum:
        fail(field, _("Enter a whole number between 0 and %(max)d.") % {"max": maximum})
    return number


def parse_choice(value, field, choices):
    value = str(value or "").strip()
    if value not in choices.values:
        fail(field, _("Choose a value from the list."))
    return value


def parse_visit_date(value, field):
    if isinstance(value, date_type):
        day = value
    else:
        try:
            day = parse_date(str(value or "").strip())
        except ValueError:
            day = None
    if day is None:
        fail(field, _("Enter a date, e.g. 2026-03-15."))
    if day > timezone.localdate():
        fail(field, _("The visit date cannot be in the future."))
    return day


def parse_report(data: dict) -> dict:
    """Every field of a visit report, parsed; every bad field is reported at once. The
    attachment comes back checked and ready to store (``core.uploads.AcceptedFile``)."""
    errors: dict = {}
    clean = {}
    clean["visited_on"] = collect(errors, "visited_on", lambda: parse_visit_date(data.get("visited_on"), "visited_on"))
    running = collect(errors, "activity_running",
                      lambda: parse_yes_no(data.get("activity_running"), "activity_running"))
    clean["activity_running"] = running
    reason = clean_text(data.get("stopped_reason"))
    if running is False and not reason:
        errors.setdefault("stopped_reason", []).append(_("Say why the activity is not running."))
    if len(reason) > MAX_TEXT:
        errors.setdefault("stopped_reason", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    clean["stopped_reason"] = reason if running is False else ""
    clean["monthly_revenue"] = collect(
        errors, "monthly_revenue", lambda: parse_money(data.get("monthly_revenue"), "monthly_revenue", allow_zero=True)
    )
    clean["monthly_profit"] = collect(
        errors, "monthly_profit", lambda: parse_signed_money(data.get("monthly_profit"), "monthly_profit")
    )
    if (clean["monthly_revenue"] is not None and clean["monthly_profit"] is not None
            and clean["monthly_profit"] > clean["monthly_revenue"]):
        errors.setdefault("monthly_profit", []).append(_("The profit cannot exceed the revenue."))
    clean["jobs_created"] = collect(
        errors, "jobs_created", lambda: parse_count(data.get("jobs_created", 0), "jobs_created", MAX_JOBS)
    )
    present = collect(errors, "equipment_present",
                      lambda: parse_yes_no(data.get("equipment_present"), "equipment_present"))
    in_use = collect(errors, "equipment_in_use",
                     lambda: parse_yes_no(data.get("equipment_in_use"), "equipment_in_use"))
    if present is False and in_use:
        errors.setdefault("equipment_in_use", []).append(_("Equipment that is not present cannot be in use."))
    clean["equipment_present"], clean["equipment_in_use"] = present, in_use
    clean["legal_status"] = collect(
        errors, "legal_status", lambda: parse_choice(data.get("legal_status"), "legal_status", LegalStatus)
    )
    channels = data.get("sales_channels") or []
    if isinstance(channels, str):
        channels = [channels]
    channels = [str(c).strip() for c in channels]
    if any(c not in SalesChannel.values for c in channels):
        errors.setdefault("sales_channels", []).append(_("Choose sales channels from the list."))
    elif running and not channels:
        errors.setdefault("sales_channels", []).append(_("Choose at least one sales channel."))
    clean["sales_channels"] = [c for c in SalesChannel.values if c in channels]
    clean["income_control"] = collect(
        errors, "income_control",
        lambda: parse_choice(data.get("income_control") or IncomeControl.BENEFICIARY, "income_control",
                             IncomeControl),
    )
    debts = data.get("debts")
    clean["debts"] = collect(
        errors, "debts",
        lambda: parse_money("0" if debts in (None, "") else debts, "debts", allow_zero=True),
    )
    difficulties = clean_text(data.get("difficulties"))
    if len(difficulties) > MAX_TEXT:
        errors.setdefault("difficulties", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    clean["difficulties"] = difficulties
    clean["recommendation"] = collect(
        errors, "recommendation",
        lambda: parse_choice(data.get("recommendation"), "recommendation", Recommendation),
    )
    clean["attachment"], refused_upload = None, None
    if data.get("attachment") is not None:
        try:
            clean["attachment"] = accept_upload(data["attachment"], field="attachment")
        except InvalidInput as exc:
            refused_upload = exc
    if errors:
        for name, messages in (refused_upload.field_errors if refused_upload else {}).items():
            errors.setdefault(name, []).extend(messages)
        raise InvalidInput(field_errors=errors)
    if refused_upload:
        raise refused_upload  # alone, it keeps its own code (file_type_not_allowed...)
    return clean


def parse_recovery(outcome, recovery) -> dict | None:
    """The equipment recovered at an abandonment: ``{"items", "value", "note"}`` or None."""
    if not recovery:
        return None
    if not any(str(recovery.get(k) or "").strip() for k in ("items", "value", "note")):
        return None
    if outcome != Outcome.ABANDONED:
        raise InvalidInput(field_errors={"recovered_items": [
            _("Equipment is recovered only when the project is abandoned.")
        ]})
    errors: dict = {}
    items = collect(errors, "recovered_items",
                    lambda: require_text(recovery.get("items"), "recovered_items", max_length=MAX_TEXT))
    value = collect(errors, "recovered_value",
                    lambda: parse_money(recovery.get("value") or "0", "recovered_value", allow_zero=True))
    note = clean_text(recovery.get("note"))
    if len(note) > MAX_TEXT:
        errors.setdefault("recovery_note", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    if errors:
        raise InvalidInput(field_errors=errors)
    return {"items": items, "value": value, "note": note}
