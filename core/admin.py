"""Admin of the platform floor: the history, the outbox and the job runs, read-only. (Shops are
administered with their gray release, in the invoices app.)"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from .admin_mixins import ReadOnly
from .changelist import FastChangeListMixin
from .models import HistoryEntry, JobRun, OutboxMessage
from .timeline import sentence


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
    list_filter = ["subject", "action"]
    list_select_related = ["actor"]

    @admin.display(description=gettext_lazy("what happened"))
    def what_happened(self, entry: HistoryEntry) -> str:
        return sentence(entry)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "key", "kind", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["key"]
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "name", "as_of", "started_at", "finished_at", "ok", "abandoned", "counts"]
    list_filter = ["name", "ok", "abandoned"]
    date_hierarchy = "started_at"
