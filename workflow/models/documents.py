"""Typed document uploads, fingerprinted with SHA-256."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    CIN_COPY = "cin_copy", _("copy of the national ID card")
    RESIDENCE_CERTIFICATE = "residence_certificate", _("residence certificate")
    BUSINESS_PLAN = "business_plan", _("business plan")
    DISABILITY_CARD = "disability_card", _("disability card")
    MEDICAL_CERTIFICATE = "medical_certificate", _("medical certificate")
    SOCIAL_SITUATION = "social_situation", _("proof of social situation")
    QUOTE = "quote", _("quote (devis)")
    RECEIPT_REPORT = "receipt_report", _("receipt report (PV de réception)")
    PHOTO = "photo", _("photo")
    OTHER = "other", _("other document")


# Any one of these proves a disability (DOMAIN.md: the card or other documents).
DISABILITY_PROOF_TYPES = (DocumentType.DISABILITY_CARD, DocumentType.MEDICAL_CERTIFICATE)


def document_upload_to(document, filename):
    return f"documents/{document.project_id}/{document.sha256[:16]}-{filename}"


class Document(models.Model):
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="documents"
    )
    doc_type = models.CharField(_("type"), max_length=40, choices=DocumentType.choices)
    file = models.FileField(_("file"), upload_to=document_upload_to)
    # The name given at upload, its extension replaced by that of the detected kind.
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "doc_type", "-uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "sha256"], name="document_unique_content_per_project"
            ),
        ]

    def __str__(self):
        return f"{self.get_doc_type_display()} — {self.original_name}"
