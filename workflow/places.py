"""Place names in a document's language, from the reference data.

A commune has its French and Arabic names (``Commune.name_fr`` / ``name_ar``). A
province is stored by its French name (``Program.province``, ``Commune.province``);
its Arabic name is that of the commune of the same name in the reference data — the
province's seat, as Nador (الناظور) is. A province whose seat the data does not hold
keeps the stored name.
"""

from dataclasses import dataclass

from workflow.models import Commune

DOCUMENT_LANGUAGES = ("ar", "fr")


@dataclass(frozen=True)
class PlaceNames:
    commune: str
    province: str


def commune_name(commune: Commune | None, language: str) -> str:
    if commune is None:
        return ""
    return commune.name_ar if language == "ar" else commune.name_fr


def province_name(province: str, language: str) -> str:
    """``province`` (its stored, French name) in ``language``."""
    if language != "ar" or not province:
        return province
    seat = Commune.objects.filter(province=province, name_fr__iexact=province).only("name_ar").first()
    return seat.name_ar if seat is not None and seat.name_ar else province


def place_names(*, commune: Commune | None, province: str, language: str) -> PlaceNames:
    """The beneficiary's commune and the program's province written in ``language``
    (``ar`` or ``fr``)."""
    return PlaceNames(commune=commune_name(commune, language), province=province_name(province, language))
