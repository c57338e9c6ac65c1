"""The security application of the viewflow site (mounted at ``/security/``): one's
second factor, the verification after sign-in, enrolment, the passkey ceremonies, and
the administrators' reset. Reached from the user menu, not the applications' menu.
Full page loads only (``turbo_disabled``): the passkey scripts run as each page loads."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from viewflow.urls import Application

from twofactor.views import pages, passkeys, people, recovery


class SecurityApp(Application):
    app_name = "security"
    title = _("Security")
    icon = "security"
    turbo_disabled = True
    in_site_menu = False
    menu_template_name = None  # no list page of its own: viewflow's menu would say so, in English

    index_path = path("", pages.SecurityView.as_view(), name="index")
    verify_path = path("verify/", pages.VerifyView.as_view(), name="verify")
    enrol_path = path("enrol/", pages.EnrolView.as_view(), name="enrol")
    remove_path = path("devices/<str:kind>/<int:pk>/remove/", pages.DeviceRemoveView.as_view(), name="device_remove")
    codes_path = path("recovery-codes/", recovery.RecoveryCodesView.as_view(), name="recovery_codes")
    codes_download_path = path("recovery-codes/download/", recovery.RecoveryCodesDownloadView.as_view(),
                               name="recovery_codes_download")
    codes_renew_path = path("recovery-codes/renew/", pages.RecoveryCodesRenewView.as_view(),
                            name="recovery_codes_renew")
    # The passkey ceremonies (JSON, for the scripts).
    passkey_register_begin_path = path("passkeys/register/begin/", passkeys.RegisterBeginView.as_view(),
                                       name="passkey_register_begin")
    passkey_register_complete_path = path("passkeys/register/complete/", passkeys.RegisterCompleteView.as_view(),
                                          name="passkey_register_complete")
    passkey_verify_begin_path = path("passkeys/verify/begin/", passkeys.VerifyBeginView.as_view(),
                                     name="passkey_verify_begin")
    passkey_verify_complete_path = path("passkeys/verify/complete/", passkeys.VerifyCompleteView.as_view(),
                                        name="passkey_verify_complete")
    passkey_stepup_begin_path = path("passkeys/step-up/begin/", passkeys.StepUpBeginView.as_view(),
                                     name="passkey_stepup_begin")
    # django-otp-webauthn's scripts speak through gettext.
    jsi18n_path = path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="jsi18n")
    # Administrators.
    people_path = path("people/", people.PeopleView.as_view(), name="people")
    reset_path = path("people/<int:pk>/reset/", people.ResetView.as_view(), name="reset")

    def has_view_permission(self, user, obj=None):
        # Every signed-in person has a security page; anonymous requests go on to the
        # site's login wall.
        return True
