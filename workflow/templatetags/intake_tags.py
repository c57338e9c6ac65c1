"""The intake panel of the project page: what is still missing, and the upload form
for the roles that may upload."""

from django import template

from core import scopes

register = template.Library()


@register.inclusion_tag("workflow/intake/project_intake.html", takes_context=True)
def intake_panel(context, project):
    from workflow.forms_intake import DocumentUploadForm
    from workflow.views.intake import missing_document_labels

    user = context["request"].user
    can_upload = (user.has_perm("workflow.add_document") and not project.is_terminal
                  and scopes.allows(user, project, "workflow.add_document"))
    return {
        "project": project,
        "csrf_token": context.get("csrf_token"),
        "missing_documents": missing_document_labels(project),
        "can_upload": can_upload,
        "upload_form": DocumentUploadForm(project) if can_upload else None,
    }
