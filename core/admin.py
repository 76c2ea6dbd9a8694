"""Admin of the platform floor: the history, the outbox and the job runs, read-only. (Shops are
administered with their gray release, in the invoices app.)"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .admin_mixins import ReadOnly
from .changelist import FastChangeListMixin, recent_filter, values_filter
from .jobs import JOBS
from .models import ApiToken, HistoryEntry, JobRun, OutboxMessage
from .roles import is_arbitrator
from .timeline import known_actions, sentence
from .tokens import service_account_create, token_revoke


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    """The raw codes stay, for arbitrators, beside each entry in words."""

    list_display = [
        "at",
        "request_id",
        "subject",
        "subject_id",
        "what_happened",
        "action",
        "state_from",
        "state_to",
        "actor",
    ]
    # Newest first by the primary key, and filters with fixed choices: at millions of rows,
    # ordering by `at` or listing the distinct actions would read the whole table.
    ordering = ["-id"]
    list_filter = [
        "subject",
        values_filter("action", gettext_lazy("action"), known_actions),
        recent_filter("at", gettext_lazy("at")),
    ]
    list_select_related = ["actor"]
    search_fields = ["=request_id"]
    search_help_text = gettext_lazy("Invoice request number (exact).")

    @admin.display(description=gettext_lazy("what happened"))
    def what_happened(self, entry: HistoryEntry) -> str:
        return sentence(entry)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "key", "kind", "created_at", "sent_at", "attempts", "last_error"]
    ordering = ["-id"]
    list_filter = [
        ("sent_at", admin.EmptyFieldListFilter),
        recent_filter("created_at", gettext_lazy("created at")),
    ]
    search_fields = ["=key"]
    search_help_text = gettext_lazy("Message key (exact).")


@admin.register(JobRun)
class JobRunAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "name", "as_of", "started_at", "finished_at", "ok", "abandoned", "counts"]
    ordering = ["-id"]
    list_filter = [
        values_filter("name", gettext_lazy("job"), lambda: JOBS),
        "ok",
        "abandoned",
        recent_filter("started_at", gettext_lazy("started at")),
    ]


class ServiceAccountForm(forms.Form):
    username = forms.RegexField(
        label=gettext_lazy("login"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=gettext_lazy("e.g. jd-order-feed"),
    )
    name = forms.CharField(label=gettext_lazy("token name"), max_length=100, initial="order feed")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(_("This login is already taken."))
        return username


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnly, admin.ModelAdmin):
    """Every API token (never the token itself: only its hash is stored); an arbitrator revokes
    tokens and makes platform service accounts (issue 12)."""

    list_display = ["id", "user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "user__groups"]
    list_select_related = ["user"]
    search_fields = ["user__username", "prefix", "name"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset) -> None:
        n = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token)
            n += 1
        self.message_user(
            request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", n) % {"n": n}
        )

    def get_urls(self):
        return [
            path(
                "service-account/",
                self.admin_site.admin_view(self.service_account_view),
                name="core_apitoken_service_account",
            ),
            *super().get_urls(),
        ]

    def service_account_view(self, request: HttpRequest) -> HttpResponse:
        """Make a platform service account (group "platform-service") and its token, shown
        once on the page that answers."""
        if not is_arbitrator(request.user):
            return redirect("admin:index")
        form = ServiceAccountForm(request.POST or None)
        token = None
        if request.method == "POST" and form.is_valid():
            _user, token = service_account_create(
                username=form.cleaned_data["username"], name=form.cleaned_data["name"]
            )
            self.message_user(
                request,
                _(
                    "Service account %(username)s created. Copy its token now: it is not shown "
                    "again."
                )
                % {"username": form.cleaned_data["username"]},
                messages.WARNING,
            )
        return TemplateResponse(
            request,
            "admin/core/apitoken/service_account.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "token": token,
                "opts": self.model._meta,
                "title": _("Make a platform service account"),
            },
        )
