"""Recovery codes, shown once: right after they are made they wait in the session until
the person says they kept them (or downloads them); then they are gone from every page."""

from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.views import next_url

FRESH_CODES_SESSION_KEY = "tamkeen_fresh_recovery_codes"


def remember_recovery_codes(request, codes) -> None:
    request.session[FRESH_CODES_SESSION_KEY] = list(codes)


class RecoveryCodesView(generic.TemplateView):
    """The new codes (GET); "I kept them" (POST) forgets them and goes on (``?next=``)."""

    template_name = "twofactor/recovery_codes.html"

    def get(self, request, *args, **kwargs):
        if not request.session.get(FRESH_CODES_SESSION_KEY):
            return redirect(next_url(request) or "security:index")
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        request.session.pop(FRESH_CODES_SESSION_KEY, None)
        return redirect(next_url(request) or "security:index")

    def get_context_data(self, **kwargs):
        return super().get_context_data(codes=self.request.session.get(FRESH_CODES_SESSION_KEY, []),
                                        back=next_url(self.request), **kwargs)


class RecoveryCodesDownloadView(generic.View):
    """The new codes as a text file, while they are still shown."""

    def get(self, request, *args, **kwargs):
        codes = request.session.get(FRESH_CODES_SESSION_KEY)
        if not codes:
            return redirect("security:index")
        user = request.user
        lines = [str(_("Tamkeen — recovery codes of %(user)s")) % {"user": user.get_username()},
                 str(_("Each code works once, in place of your authenticator app or passkey.")), "", *codes, ""]
        response = HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tamkeen-recovery-codes.txt"'
        return response
