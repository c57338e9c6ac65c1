"""Reference data: the communes of Nador province (DOMAIN.md) and activity sectors.

Kept as data so administrators can correct spellings or split the province; this
migration only creates rows that are missing.
"""

from django.db import migrations

COMMUNES = [
    # code, French, Arabic, kind
    ("nador", "Nador", "الناظور", "urban"),
    ("zeghanghane", "Zeghanghane", "زغنغان", "urban"),
    ("bni-ansar", "Bni Ansar", "بني أنصار", "urban"),
    ("al-aaroui", "Al Aaroui", "العروي", "urban"),
    ("zaio", "Zaïo", "زايو", "urban"),
    ("selouane", "Selouane", "سلوان", "urban"),
    ("ras-el-ma", "Ras El Ma", "رأس الماء", "urban"),
    ("bni-bouifrour", "Bni Bouifrour", "بني بويفرور", "rural"),
    ("ihaddadene", "Ihaddadene", "إحدادن", "rural"),
    ("iksane", "Iksane", "إكسان", "rural"),
    ("bouarg", "Bouarg", "بوعرك", "rural"),
    ("iaazzanene", "Iaazzanene", "إعزانن", "rural"),
    ("bni-chiker", "Bni Chiker", "بني شيكر", "rural"),
    ("bni-sidel-jbel", "Bni Sidel Jbel", "بني سيدال الجبل", "rural"),
    ("bni-sidel-louta", "Bni Sidel Louta", "بني سيدال لوطا", "rural"),
    ("hassi-berkane", "Hassi Berkane", "حاسي بركان", "rural"),
    ("afsou", "Afsou", "أفسو", "rural"),
    ("tiztoutine", "Tiztoutine", "تيزطوطين", "rural"),
    ("bni-oukil-oulad-mhand", "Bni Oukil Oulad M'Hand", "بني وكيل أولاد امحند", "rural"),
    ("arekmane", "Arekmane", "أركمان", "rural"),
    ("al-barkanyene", "Al Barkanyene", "البركانيين", "rural"),
    ("oulad-settout", "Oulad Settout", "أولاد ستوت", "rural"),
    ("oulad-daoud-zkhanine", "Oulad Daoud Zkhanine", "أولاد داود زخانين", "rural"),
]

SECTORS = [
    # code, French, Arabic, English
    ("agriculture", "Agriculture", "الفلاحة", "Agriculture"),
    ("livestock", "Élevage", "تربية الماشية", "Livestock"),
    ("beekeeping", "Apiculture", "تربية النحل", "Beekeeping"),
    ("handicrafts", "Artisanat", "الصناعة التقليدية", "Handicrafts"),
    ("sewing", "Couture et textile", "الخياطة والنسيج", "Sewing and textiles"),
    ("food-processing", "Transformation alimentaire", "الصناعات الغذائية", "Food processing"),
    ("pastry", "Pâtisserie et traiteur", "الحلويات والطبخ", "Pastry and catering"),
    ("retail", "Commerce de proximité", "تجارة القرب", "Local retail"),
    ("hairdressing", "Coiffure et esthétique", "الحلاقة والتجميل", "Hairdressing and beauty"),
    ("services", "Services", "الخدمات", "Services"),
    ("fishing", "Pêche artisanale", "الصيد التقليدي", "Small-scale fishing"),
    ("digital", "Services numériques", "الخدمات الرقمية", "Digital services"),
]


def load(apps, schema_editor):
    Commune = apps.get_model("workflow", "Commune")
    ActivitySector = apps.get_model("workflow", "ActivitySector")
    for code, fr, ar, kind in COMMUNES:
        Commune.objects.get_or_create(
            code=code, defaults={"name_fr": fr, "name_ar": ar, "kind": kind, "province": "Nador"}
        )
    for code, fr, ar, en in SECTORS:
        ActivitySector.objects.get_or_create(
            code=code, defaults={"name_fr": fr, "name_ar": ar, "name_en": en}
        )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
