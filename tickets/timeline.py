"""What an urge ticket's history entries say, in words (see `core.timeline`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.models import HistoryEntry
from core.timeline import Reader, Words, describes, then

from .models import UrgeTicket
from .rules import reply_due_at

Resolution = UrgeTicket.Resolution


def _resolution(value: str | None) -> str:
    """A resolution's label without its English gloss in Chinese ("已协商开票时间")."""
    try:
        return str(Resolution(value).label)
    except ValueError:
        return _("another answer")


@describes("ticket_opened")
def opened(entry: HistoryEntry, reader: Reader) -> str:
    values = {"due": reader.moment(reply_due_at(entry.at)), "who": reader.consumer()}
    if entry.data.get("via") == UrgeTicket.OpenedVia.CONSUMER:
        return (
            _(
                "%(who)s urged the shop to issue the invoice (urge ticket); "
                "the shop must reply by %(due)s."
            )
            % values
        )
    return (
        _(
            "The invoice was overdue, so the platform opened an urge ticket; "
            "the shop must reply by %(due)s."
        )
        % values
    )


@describes("ticket_urged")
def urged(entry: HistoryEntry, reader: Reader) -> str:
    count = entry.data.get("urge_count")
    if count:
        return _("%(who)s urged the shop again (urge %(count)s).") % {
            "who": reader.consumer(),
            "count": count,
        }
    return _("%(who)s urged the shop again.") % {"who": reader.consumer()}


@describes("ticket_replied", "ticket_reply_added")
def replied(entry: HistoryEntry, reader: Reader) -> Words:
    data = entry.data
    values = {
        "who": reader.shop(entry),
        "resolution": _resolution(data.get("resolution")),
        "date": reader.day(data.get("promised_date")),
    }
    correction = entry.action == "ticket_reply_added"
    if data.get("resolution") == Resolution.DATE_AGREED and values["date"]:
        text = (
            _("%(who)s corrected its reply: %(resolution)s, promising to issue by %(date)s.")
            if correction
            else _("%(who)s replied: %(resolution)s, promising to issue by %(date)s.")
        )
    else:
        text = (
            _("%(who)s corrected its reply: %(resolution)s.")
            if correction
            else _("%(who)s replied: %(resolution)s.")
        )
    text = text % values
    if data.get("late"):
        text = then(text, _("The reply came after the deadline."))
    return Words(text, note=data.get("note") or "")


@describes("ticket_breached")
def breached(entry: HistoryEntry, reader: Reader) -> str:
    due = reader.moment(entry.data.get("reply_due_at"))
    who = reader.shop_name or _("The shop")
    if due:
        return _("%(who)s did not reply by the deadline (%(due)s).") % {"who": who, "due": due}
    return _("%(who)s did not reply by the deadline.") % {"who": who}


@describes("promise_broken")
def promise_broken(entry: HistoryEntry, reader: Reader) -> str:
    day = reader.day(entry.data.get("promised_date"))
    who = reader.shop_name or _("The shop")
    if day:
        return _("%(who)s did not issue the invoice by the promised date (%(date)s).") % {
            "who": who,
            "date": day,
        }
    return _("%(who)s did not issue the invoice by the promised date.") % {"who": who}


@describes("ticket_closed")
def closed(entry: HistoryEntry, reader: Reader) -> str:
    if entry.state_to == UrgeTicket.State.CLOSED:
        return _("The order ended, so the urge ticket was closed; nothing is owed.")
    return _("The order ended, so the promised issue date no longer applies.")
