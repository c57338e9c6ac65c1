"""The training module catalog (DOMAIN.md: project management, developing an economic
activity, productivity, marketing, specialised workshops), and the roles' training
permissions (core.roles is the single table).

Kept as data: administrators may rename, describe or retire modules; this migration only
creates the rows that are missing. Which modules a program requires is configured per
program (ProgramModule), not here.
"""

from django.db import migrations

from core.roles import sync_roles_in_migration

MODULES = [
    # code, French, Arabic, English, description
    ("project-management", "Gestion de projet", "تدبير المشاريع", "Project management",
     "Planifier l'activité, tenir une caisse et une comptabilité simple, suivre ses stocks."),
    ("economic-activity", "Développement d'une activité économique", "تطوير نشاط اقتصادي",
     "Developing an economic activity",
     "Étude de marché, calcul du prix de revient, formalisation (auto-entrepreneur, coopérative)."),
    ("productivity", "Productivité", "الإنتاجية", "Productivity",
     "Organisation du poste de travail, qualité, hygiène et sécurité, entretien du matériel."),
    ("marketing", "Marketing", "التسويق", "Marketing",
     "Clientèle, canaux de vente, réseaux sociaux, foires et coopératives de commercialisation."),
    ("specialised-workshops", "Ateliers spécialisés", "ورشات متخصصة", "Specialised workshops",
     "Ateliers techniques propres au métier du projet (couture, apiculture, pâtisserie...)."),
]


def load(apps, schema_editor):
    TrainingModule = apps.get_model("workflow", "TrainingModule")
    for code, fr, ar, en, description in MODULES:
        TrainingModule.objects.get_or_create(
            code=code, defaults={"name_fr": fr, "name_ar": ar, "name_en": en, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0007_training"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
        migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop),
    ]
