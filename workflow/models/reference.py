"""Reference data kept as data (data migrations), not code: communes and sectors."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class LocalizedNameMixin(models.Model):
    name_fr = models.CharField(_("name (French)"), max_length=120)
    name_ar = models.CharField(_("name (Arabic)"), max_length=120)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def name(self):
        return self.name_ar if (get_language() or "").startswith("ar") else self.name_fr


class Commune(LocalizedNameMixin):
    class Kind(models.TextChoices):
        URBAN = "urban", _("urban")
        RURAL = "rural", _("rural")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    province = models.CharField(_("province"), max_length=60, default="Nador")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["province", "name_fr"]
        verbose_name = _("commune")
        verbose_name_plural = _("communes")


class ActivitySector(LocalizedNameMixin):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name_fr"]
        verbose_name = _("activity sector")
        verbose_name_plural = _("activity sectors")

    @property
    def name(self):
        lang = (get_language() or "")[:2]
        return {"ar": self.name_ar, "en": self.name_en}.get(lang, self.name_fr)
