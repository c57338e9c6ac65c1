"""The administrators' pages: the admin site cannot raise anyone's rights (the
escalation found in the access review), and roles change on the people's pages,
through the audited services."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from access.models import RoleRequest
from core.roles import Role
from ledger.models import AuditEntry
from tests._pager import pager_link
from tests._web import as_user, html_of, unisolated


@pytest.fixture
def admins(make_user):
    first = make_user(Role.ADMIN, username="admin-1")
    second = make_user(Role.ADMIN, username="admin-2")
    User.objects.filter(pk__in=[first.pk, second.pk]).update(is_staff=True)
    return User.objects.get(pk=first.pk), User.objects.get(pk=second.pk)


def test_the_admin_site_cannot_make_an_administrator_superuser_or_treasurer(client, admins):
    """The finding: an administrator ticked is_superuser and the treasurer group on its
    own user in /admin/. Now the form does not take them: nothing changes, no entry."""
    first, _second = admins
    as_user(client, first)
    url = reverse("admin:auth_user_change", args=[first.pk])
    page = html_of(client.get(url))
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page and 'name="is_staff"' not in page
    treasurer = Group.objects.get(name="treasurer")
    entries = AuditEntry.objects.count()
    response = client.post(url, {
        "username": first.username, "first_name": "Rachid", "last_name": "El Ammari", "email": "r@example.org",
        "is_active": "on", "is_superuser": "on", "is_staff": "on", "groups": [treasurer.pk],
        "user_permissions": [], "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00",
    })
    assert response.status_code == 302
    fresh = User.objects.get(pk=first.pk)
    assert fresh.first_name == "Rachid"  # what the admin may change, it changed
    assert not fresh.is_superuser
    assert set(fresh.groups.values_list("name", flat=True)) == {"admin"}
    assert AuditEntry.objects.count() == entries


def test_a_user_added_in_the_admin_site_has_no_rights(client, admins):
    first, _second = admins
    as_user(client, first)
    response = client.post(reverse("admin:auth_user_add"), {
        "username": "nouvelle", "password1": "Tres-Long-Mot-2026", "password2": "Tres-Long-Mot-2026",
        "usable_password": "true", "is_superuser": "on", "is_staff": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(username="nouvelle")
    assert not created.is_superuser and not created.is_staff and not created.groups.exists()


def test_groups_are_read_only_in_the_admin_site(client, admins):
    first, _second = admins
    as_user(client, first)
    group = Group.objects.get(name="treasurer")
    response = client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "treasurer", "permissions": []})
    assert response.status_code == 403
    assert Group.objects.get(pk=group.pk).permissions.exists()


def test_a_grant_through_the_pages_waits_for_a_second_administrator(client, admins):
    first, second = admins
    person = User.objects.create_user("khadija", first_name="Khadija", last_name="Ouali")
    as_user(client, first)
    page = html_of(client.get(reverse("people:detail", args=[person.pk])))
    assert "No role: this person can log in but do nothing yet." in page
    response = client.post(reverse("people:grant", args=[person.pk]), {"role": "treasurer", "reason": "Nommée."})
    assert response.status_code == 302
    request = RoleRequest.objects.get()
    assert not person.groups.exists()

    # The first administrator is told another must approve; the page offers them nothing to click.
    page = html_of(client.get(reverse("people:approve", args=[request.pk])))
    assert "A second administrator must approve: not the one who asked." in page
    client.post(reverse("people:approve", args=[request.pk]), {"reason": ""})
    assert RoleRequest.objects.get().status == "pending"

    as_user(client, second)
    listing = html_of(client.get(reverse("people:index")))
    assert "Grants waiting for a second administrator" in listing and "Khadija Ouali" in listing
    response = client.post(reverse("people:approve", args=[request.pk]), {"reason": "Vu la décision."})
    assert response.status_code == 302
    assert list(person.groups.values_list("name", flat=True)) == ["treasurer"]
    history = html_of(client.get(reverse("people:detail", args=[person.pk])))
    assert "Granted the role “treasurer”" in history and "Chain verified." in history


def test_a_refused_grant_shows_its_field_error_and_changes_nothing(client, admins, make_user):
    first, _second = admins
    mentor = make_user(Role.MENTOR, username="mentor-x")
    as_user(client, first)
    entries = AuditEntry.objects.count()
    response = client.post(reverse("people:grant", args=[mentor.pk]), {"role": "auditor", "reason": "Essai."})
    page = html_of(response)
    assert "Not with the role “mentor”." in page
    assert AuditEntry.objects.count() == entries and RoleRequest.objects.count() == 0


def test_revoking_asks_for_confirmation(client, admins, make_user):
    first, _second = admins
    mentor = make_user(Role.MENTOR, username="mentor-y")
    as_user(client, first)
    url = reverse("people:revoke", args=[mentor.pk, "mentor"])
    page = html_of(client.post(url, {"reason": "Départ."}))
    assert "Tick the box to confirm" in page
    assert mentor.groups.filter(name="mentor").exists()
    assert client.post(url, {"reason": "Départ.", "confirm": "on"}).status_code == 302
    assert not mentor.groups.exists()


def test_own_page_offers_no_change(client, admins):
    first, _second = admins
    as_user(client, first)
    page = html_of(client.get(reverse("people:detail", args=[first.pk])))
    assert "These are your own roles: another administrator changes them." in page
    assert reverse("people:grant", args=[first.pk]) not in page


@pytest.mark.parametrize("role", [Role.PROGRAM_OFFICER, Role.TREASURER, Role.ASSOCIATION_AGENT])
def test_other_roles_cannot_open_the_people_pages(client, make_user, role):
    as_user(client, make_user(role, username="someone"))
    assert client.get(reverse("people:index")).status_code == 403
    assert client.post(reverse("people:grant", args=[1]), {"role": "admin", "reason": "x"}).status_code == 403


def test_the_people_list_is_searchable_and_paginated(client, admins, make_user):
    first, _second = admins
    for n in range(30):
        make_user(Role.MENTOR, username=f"mentor-{n:02d}")
    as_user(client, first)
    page = unisolated(html_of(client.get(reverse("people:index"))))
    assert page.count('href="/people/') >= 25 and "Page 1 of" not in page  # "more", not a count
    more = pager_link(page)
    second = html_of(client.get(reverse("people:index") + more))
    assert "mentor-29" in second and "mentor-29" not in page and pager_link(second) is None
    assert pager_link(second, "prev")
    found = html_of(client.get(reverse("people:index"), {"q": "mentor-07"}))
    assert "mentor-07" in found and "mentor-08" not in found
    empty = html_of(client.get(reverse("people:index"), {"q": "personne"}))
    assert "Nobody matches." in empty


def test_superusers_are_made_at_the_server_with_a_signed_entry(db):
    with pytest.raises(CommandError, match="create_user"):
        call_command("createsuperuser", "--username", "root", "--noinput")
    call_command("create_user", "root", "--role", "admin", "--superuser", "--password", "Tres-Long-Mot-2026",
                 "--reason", "Mise en service.")
    root = User.objects.get(username="root")
    assert root.is_superuser and root.is_staff
    last = AuditEntry.objects.filter(entity_type="access.account", entity_id=str(root.pk)).order_by("seq").last()
    assert last.transition == "set_by_operator" and last.actor_id is None and last.actor_role == "operator"
    assert last.payload["superuser"] is True and last.payload["granted"] == ["admin"]
    assert last.payload["reason"] == "Mise en service."


def test_the_command_keeps_roles_apart_too(db):
    with pytest.raises(CommandError, match="cannot be held together"):
        call_command("create_user", "both", "--role", "admin", "--role", "treasurer", "--password",
                     "Tres-Long-Mot-2026")
    assert not User.objects.filter(username="both").exists()
