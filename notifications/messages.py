"""What a notification says, rendered when it is read or emailed, in the reader's language.

A notification stores the name of its template (``email/<template>_subject.txt`` and
``email/<template>.txt``) and parameters: ids, codes, numbers and ISO dates, never
translated text. Rendering looks up what the ids name (the task's file and title, the
project, the checkpoint, people's names) and lets the templates translate labels and
format dates and amounts in the language active then. A row written before templates
existed has none and shows the text it stored.
"""

from datetime import date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import timezone, translation


def _when(value):
    """An ISO date or datetime parameter back as a (local) date or datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if len(value) <= 10:
        return date.fromisoformat(value)
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _names(user_ids) -> str:
    users = get_user_model().objects.filter(pk__in=user_ids or []).order_by("pk")
    return ", ".join(user.get_full_name() or user.get_username() for user in users)


def task_titles(task_ids) -> dict:
    """``{task id: subject}`` of the tasks, as their flows describe them now (a
    disbursement's amount formatted in the active language): one pass per flow."""
    from viewflow.workflow.models import Task

    tasks = list(Task.objects.select_related("process").filter(pk__in={pk for pk in task_ids if pk}))
    by_flow = {}
    for task in tasks:
        if task.flow_task is not None:
            by_flow.setdefault(task.flow_task.flow_class, []).append(task)
    for flow_class, described in by_flow.items():
        flow_class.describe_tasks(described)
    return {task.pk: str(getattr(task, "subject", "") or "") for task in tasks}


def _deadline_context(params, titles=None):
    from notifications.models import Step

    step = params.get("step", "")
    return {
        "step": Step(step).label if step in Step.values else step,
        "is_visit": step == Step.VISIT,
        "reference": params.get("reference", ""),
        "title": (titles if titles is not None else task_titles([params.get("task")])).get(params.get("task"))
        or params.get("reference", ""),
        "since": _when(params.get("since")),
        "days": params.get("days", 0),
        "remind_days": params.get("remind_days", 0),
        "escalate_days": params.get("escalate_days", 0),
        "assignees": _names(params.get("assignees")),
    }


def _at_risk_context(params, titles=None):
    from followup.models import RiskReason
    from workflow.models import GrantProject

    project = GrantProject.objects.filter(pk=params.get("project")).first()
    reasons = params.get("reasons") or []
    return {
        "reference": project.reference if project else "", "title": project.title if project else "",
        "sequence": params.get("sequence"), "visited_on": _when(params.get("visited_on")),
        "reasons": [RiskReason(code).label if code in RiskReason.values else code for code in reasons],
    }


def _checkpoint_context(params, titles=None):
    import base64

    from ledger.models import Checkpoint

    checkpoint = Checkpoint.objects.filter(pk=params.get("checkpoint")).first()
    if checkpoint is None:
        return {"size": params.get("size"), "root": "", "at": None, "canonical": "", "key_id": "", "signature": ""}
    return {"size": checkpoint.size, "root": checkpoint.root_hash, "at": checkpoint.created_at,
            "canonical": bytes(checkpoint.canonical).decode("utf-8"), "key_id": checkpoint.key_id,
            "signature": base64.b64encode(bytes(checkpoint.signature)).decode()}


CONTEXTS = {
    "deadline_reminder": _deadline_context,
    "deadline_escalation": _deadline_context,
    "at_risk": _at_risk_context,
    "checkpoint": _checkpoint_context,
}


def _as_given(params, titles=None):
    """ledger_alert: its parameters (code, message) are the context."""
    return dict(params)


def render_message(template, params, *, recipient, link="", language=None, titles=None) -> tuple[str, str]:
    """Subject and body of ``template`` with ``params``, for ``recipient``, in ``language``
    (default: the active one). ``titles`` (``task_titles``) spares a list a query per row."""
    with translation.override(language or translation.get_language()):
        context = CONTEXTS.get(template, _as_given)(params, titles)
        context.update(recipient=recipient, link=link, site_url=settings.TAMKEEN_SITE_URL)
        subject = render_to_string(f"email/{template}_subject.txt", context)
        body = render_to_string(f"email/{template}.txt", context)
    return " ".join(subject.split())[:200], body.strip()


def notification_text(notification, language=None, titles=None) -> tuple[str, str]:
    """What ``notification`` says in ``language`` (default: the active one): rendered
    from its template and parameters, or the stored text of a row that has none."""
    if not notification.template:
        return notification.subject, notification.body
    return render_message(notification.template, notification.params, recipient=notification.recipient,
                          link=notification.link, language=language, titles=titles)


def notifications_shown(notifications) -> None:
    """Set ``shown_subject`` and ``shown_body`` of each notification of a page, in the
    active language; the tasks they name are described in one pass."""
    with translation.override(translation.get_language()):
        titles = task_titles([(n.params or {}).get("task") for n in notifications if n.template])
        for notification in notifications:
            notification.shown_subject, notification.shown_body = notification_text(notification, titles=titles)
