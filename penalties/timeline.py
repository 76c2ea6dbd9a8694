"""What a penalty's history entries say, in words (see `core.timeline`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.models import HistoryEntry
from core.timeline import Reader, Words, describes

from .models import Penalty


def _kind(value: str | None) -> str:
    try:
        return str(Penalty.Kind(value).label)
    except ValueError:
        return _("a penalty")


@describes("penalty_confirmed", "penalty_waived")
def decided(entry: HistoryEntry, reader: Reader) -> Words:
    values = {
        "who": reader.platform(entry),
        "shop": reader.shop_name or _("the shop"),
        "kind": _kind(entry.data.get("penalty_kind")),
    }
    if entry.action == "penalty_waived":
        text = _("%(who)s waived a penalty on %(shop)s: %(kind)s.") % values
    else:
        text = _("%(who)s confirmed a penalty on %(shop)s: %(kind)s.") % values
    return Words(text, note=entry.data.get("note") or "")


@describes("penalty_false_reply")
def false_reply(entry: HistoryEntry, reader: Reader) -> Words:
    text = _("%(who)s found the reply of %(shop)s false and recorded a penalty.") % {
        "who": reader.platform(entry),
        "shop": reader.shop_name or _("the shop"),
    }
    return Words(text, note=entry.data.get("note") or "")
