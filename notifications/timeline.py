"""What a shop's webhook history entries say, in words (see `core.timeline`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.models import HistoryEntry
from core.timeline import Reader, describes

_SAID = {
    "webhook_registered": lambda: _("%(who)s added the webhook %(url)s."),
    "webhook_secret_rotated": lambda: _(
        "%(who)s changed the signing secret of the webhook %(url)s."
    ),
    "webhook_enabled": lambda: _("%(who)s turned on the webhook %(url)s."),
    "webhook_disabled": lambda: _("%(who)s turned off the webhook %(url)s."),
    "webhook_deleted": lambda: _("%(who)s removed the webhook %(url)s."),
    "webhook_resent": lambda: _("%(who)s sent a webhook delivery again to %(url)s."),
}


@describes(*_SAID)
def webhook(entry: HistoryEntry, reader: Reader) -> str:
    return _SAID[entry.action]() % {"who": reader.shop(entry), "url": entry.data.get("url") or ""}
