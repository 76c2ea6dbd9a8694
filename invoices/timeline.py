"""What an invoice request's history entries say, in words (see `core.timeline`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.models import HistoryEntry
from core.timeline import Reader, Words, describes, then

from .models import InvoiceRequest


def _label(choices: type, value: str | None, default: str = "") -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return default


def _number(entry: HistoryEntry) -> str:
    code, number = entry.data.get("invoice_code") or "", entry.data.get("invoice_number") or ""
    return f"{code} {number}".strip()


@describes("requested", "reissue_requested")
def requested(entry: HistoryEntry, reader: Reader) -> Words:
    who = reader.consumer()
    if entry.action == "reissue_requested":
        text = _("%(who)s asked for the invoice to be issued again (re-issue).") % {"who": who}
    else:
        text = _("%(who)s requested an invoice.") % {"who": who}
    kind = _label(InvoiceRequest.InvoiceKind, entry.data.get("invoice_kind"))
    title = entry.data.get("title") or ""
    if kind and title:
        text = then(text, _("Kind: %(kind)s; title: %(title)s.") % {"kind": kind, "title": title})
    return Words(text)


@describes("exchange_requested")
def exchange_requested(entry: HistoryEntry, reader: Reader) -> Words:
    reason = _label(InvoiceRequest.ExchangeReason, entry.data.get("reason"), _("other"))
    number = entry.data.get("invoice_number") or ""
    values = {"who": reader.consumer(), "reason": reason, "number": number}
    if number:
        text = _("%(who)s asked to exchange invoice No. %(number)s (reason: %(reason)s).")
    else:
        text = _("%(who)s asked to exchange the invoice (reason: %(reason)s).")
    return Words(text % values, note=entry.data.get("note") or "")


@describes("issued")
def issued(entry: HistoryEntry, reader: Reader) -> str:
    check = entry.data.get("check") or ""
    number = _number(entry)
    values = {"who": reader.shop(entry), "number": number}
    if check == InvoiceRequest.Check.VERIFIED:
        if number:
            return _("%(who)s uploaded invoice No. %(number)s (verified).") % values
        return _("%(who)s uploaded the invoice (verified).") % values
    if check == InvoiceRequest.Check.UNREADABLE:
        if number:
            return _("%(who)s uploaded invoice No. %(number)s (not machine-checked).") % values
        return _("%(who)s uploaded the invoice (not machine-checked).") % values
    if number:
        return _("%(who)s uploaded invoice No. %(number)s.") % values
    return _("%(who)s uploaded the invoice.") % values


@describes("refused")
def refused(entry: HistoryEntry, reader: Reader) -> str:
    reason = entry.data.get("reason") or ""
    if reason:
        return _("%(who)s refused to issue the invoice: %(reason)s") % {
            "who": reader.shop(entry),
            "reason": reason,
        }
    return _("%(who)s refused to issue the invoice.") % {"who": reader.shop(entry)}


@describes("cancelled")
def cancelled(entry: HistoryEntry, reader: Reader) -> str:
    return _("%(who)s withdrew the request.") % {"who": reader.consumer()}


@describes("replaced")
def replaced(entry: HistoryEntry, reader: Reader) -> str:
    number = _number(entry)
    if number:
        return _("This invoice was replaced by the exchanged invoice No. %(number)s.") % {
            "number": number
        }
    return _("This invoice was replaced by the exchanged invoice.")


@describes("cancelled_with_order")
def cancelled_with_order(entry: HistoryEntry, reader: Reader) -> str:
    if entry.data.get("order_state") == "returned":
        return _("The order was returned, so the request was cancelled.")
    return _("The order was cancelled, so the request was cancelled.")
