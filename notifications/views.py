"""The user's own notifications (mounted at ``/notifications/``): the list, mark read,
mark all read, and the preferences page (language and which kinds come by email).

Every user reaches only their own notifications: the services look them up by
recipient, so another user's id is simply not found.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View, generic

from core.exceptions import TamkeenError
from core.models import language_for
from core.pagination import KeysetListMixin
from core.views import call_with_form, failed
from notifications import services as notification_services
from notifications.messages import notifications_shown
from notifications.models import NotificationKind
from notifications.selectors import email_kinds_of, notifications_for, unread_count


class NotificationFilterForm(forms.Form):
    SHOW_CHOICES = [("", _("All")), ("unread", _("Unread"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    show = forms.ChoiceField(label=_("Show"), choices=SHOW_CHOICES, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Every kind")), *NotificationKind.choices], required=False,
    )


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the pages and emails"),
        choices=[("", _("Site default")), *settings.LANGUAGES], required=False,
    )
    email_kinds = forms.MultipleChoiceField(
        label=_("Send me an email for"), choices=NotificationKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every notification also appears in the notification list."),
    )


def _safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


class NotificationListView(KeysetListMixin, generic.ListView):
    """My notifications, newest first: unread ones marked, searchable and filterable."""

    template_name = "notifications/list.html"
    context_object_name = "notifications"
    paginate_by = 20
    keyset = ("-created_at", "-pk")

    def get_queryset(self):
        self.filter_form = NotificationFilterForm(self.request.GET or None)
        data = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        notifications = notifications_for(
            self.request.user, unread_only=data.get("show") == "unread", kind=data.get("kind", ""),
        )
        if data.get("q"):
            # The stored text is in the recipient's language of the day it was sent; a
            # file's reference, the usual search, is the same in every language.
            notifications = notifications.filter(
                Q(subject__icontains=data["q"]) | Q(body__icontains=data["q"])
                | Q(params__reference__icontains=data["q"])
            )
        return notifications

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Each message in the language the page is read in, whatever the one it was sent in.
        notifications_shown(context["notifications"])
        context.update(
            filter_form=self.filter_form, is_filtered=bool(context["page"].params),
            unread_total=unread_count(self.request.user),
        )
        return context


class MarkReadView(View):
    """POST: mark one notification read, then go to its link (``open``) or back."""

    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            notification = notification_services.notification_mark_read(actor=request.user, notification_id=pk)
        except TamkeenError as error:
            messages.error(request, error.message)
            return redirect("notifications:index")
        if request.POST.get("open") and notification.link:
            return redirect(notification.link)
        return redirect(_safe_next(request, "notifications:index"))


class MarkAllReadView(View):
    http_method_names = ["post"]

    def post(self, request):
        count = notification_services.notifications_mark_all_read(actor=request.user)
        if count:
            messages.success(request, translation.ngettext(
                "%(count)d notification marked read.", "%(count)d notifications marked read.", count,
            ) % {"count": count})
        return redirect(_safe_next(request, "notifications:index"))


class PreferencesView(generic.FormView):
    """My language and the notification kinds I receive by email."""

    template_name = "notifications/preferences.html"
    form_class = PreferencesForm

    def get_initial(self):
        from core.models import UserPreference

        user = self.request.user
        language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first() or ""
        return {"language": language, "email_kinds": sorted(email_kinds_of(user))}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["has_email"] = bool(self.request.user.email)
        return context

    def form_valid(self, form):
        user = self.request.user
        if failed(call_with_form(form, lambda: notification_services.preferences_update(
            actor=user, language=form.cleaned_data["language"],
            email_kinds=form.cleaned_data["email_kinds"],
        ))):
            return self.form_invalid(form)
        language = language_for(user)
        translation.activate(language)
        messages.success(self.request, gettext("Your preferences are saved."))
        response = redirect("notifications:preferences")
        # The language the pages are shown in follows the preference from now on.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response
