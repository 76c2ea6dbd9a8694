"""The category operations' history entries in words (core.timeline)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.models import HistoryEntry
from core.timeline import Reader, describes


@describes("category_plan_saved")
def _plan_saved(entry: HistoryEntry, reader: Reader) -> str:
    who = reader.platform(entry)  # a category operator works for the platform
    return _("%(who)s saved the plan of %(month)s: growth %(growth)s, %(n)d shop targets.") % {
        "who": who,
        "month": entry.data.get("month", ""),
        "growth": entry.data.get("growth", ""),
        "n": len(entry.data.get("targets", {})),
    }
