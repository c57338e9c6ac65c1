"""Moving models between apps without touching their tables (used by migrations).

When a model moves to another app, its migration state moves with
``SeparateDatabaseAndState`` (the table keeps its name through ``Meta.db_table``), and
its content type is renamed in place: the permissions, the groups holding them and the
admin's log entries all point at the content type's id, so they follow the model.
"""


def claim_content_types(old_app_label: str, new_app_label: str, model_names):
    """A ``RunPython`` function that renames the content types of ``model_names`` from
    ``old_app_label`` to ``new_app_label``.

    A content type already created under the new label (by a database set up some other
    way) gives its permissions' group memberships to the old one's, then is dropped, so
    nothing is duplicated and no group loses a right."""

    def forwards(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        Permission = apps.get_model("auth", "Permission")
        db = schema_editor.connection.alias
        for name in model_names:
            old = ContentType.objects.using(db).filter(app_label=old_app_label, model=name).first()
            new = ContentType.objects.using(db).filter(app_label=new_app_label, model=name).first()
            if old is None:
                continue
            if new is not None:
                for permission in Permission.objects.using(db).filter(content_type=new):
                    twin = Permission.objects.using(db).filter(content_type=old, codename=permission.codename).first()
                    if twin is not None:
                        for group in permission.group_set.all():
                            group.permissions.add(twin)
                        for user in permission.user_set.all():
                            user.user_permissions.add(twin)
                new.delete()
            old.app_label = new_app_label
            old.save(update_fields=["app_label"])

    def backwards(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        ContentType.objects.using(db).filter(app_label=new_app_label, model__in=list(model_names)).update(
            app_label=old_app_label
        )

    return forwards, backwards
