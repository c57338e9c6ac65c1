"""What the pages read of people's second factors."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from core.roles import SECOND_FACTOR_ROLES, needs_second_factor
from twofactor.models import FactorState, SecondFactor

TOTP, PASSKEY = "totp", "passkey"
DEVICE_MODELS = {TOTP: TOTPDevice, PASSKEY: WebAuthnCredential}


@dataclass(frozen=True)
class Device:
    kind: str  # TOTP or PASSKEY
    pk: int
    name: str
    created_at: object
    last_used_at: object


def devices_of(user) -> list[Device]:
    """The confirmed authenticator apps and passkeys of ``user``, oldest first."""
    found = []
    for kind, model in DEVICE_MODELS.items():
        for pk, name, created, used in model.objects.filter(user=user, confirmed=True).values_list(
                "pk", "name", "created_at", "last_used_at"):
            found.append(Device(kind, pk, name, created, used))
    return sorted(found, key=lambda device: (device.created_at, device.kind, device.pk))


def has_second_factor(user) -> bool:
    """Whether ``user`` has a confirmed authenticator app or passkey (recovery codes
    alone are no second factor: they only stand in for one)."""
    if not user.is_authenticated:
        return False
    return any(model.objects.filter(user=user, confirmed=True).exists() for model in DEVICE_MODELS.values())


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def people(search: str = "") -> list[dict]:
    """Everyone who must have a second factor or has one, for the administrators' page:
    ``{"user", "required", "enrolled"}`` by username."""
    User = get_user_model()
    roles = [role.value for role in SECOND_FACTOR_ROLES]
    rows = (User.objects.filter(Q(is_superuser=True) | Q(groups__name__in=roles)
                                | Q(second_factor__state=FactorState.ENROLLED))
            .filter(is_active=True).distinct().order_by("username").prefetch_related("groups"))
    if search:
        rows = rows.filter(Q(username__icontains=search) | Q(first_name__icontains=search)
                           | Q(last_name__icontains=search))
    enrolled = set(SecondFactor.objects.filter(state=FactorState.ENROLLED).values_list("user_id", flat=True))
    for user in rows:
        user._tamkeen_roles = {group.name for group in user.groups.all()}  # core.roles.roles_of's cache
    return [{"user": user, "required": needs_second_factor(user), "enrolled": user.pk in enrolled} for user in rows]
