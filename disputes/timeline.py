"""What a dispute's history entries say, in words (see `core.timeline`)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.models import HistoryEntry
from core.timeline import Reader, Words, describes, then

from .models import Dispute, Evidence
from .plans import Plan


def _label(choices: type, value: str | None, default: str = "") -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return default


@describes("opened")
def opened(entry: HistoryEntry, reader: Reader) -> Words:
    kind = _label(Dispute.Kind, entry.data.get("kind"), _("a dispute"))
    text = _("%(who)s opened a dispute: %(kind)s.") % {"who": reader.consumer(), "kind": kind}
    if entry.state_to == Dispute.State.AWAITING_PLATFORM:
        text = then(text, _("The platform will judge it."))
    elif entry.data.get("merchant_due_at"):
        text = then(
            text,
            _("The shop must answer by %(due)s.")
            % {"due": reader.moment(entry.data["merchant_due_at"])},
        )
    return Words(text, note=entry.data.get("complaint") or "")


@describes("settlement_proposed", "sent_to_platform")
def answered(entry: HistoryEntry, reader: Reader) -> Words:
    data = entry.data
    values = {
        "who": reader.shop(entry),
        "plan": _label(Plan, data.get("plan"), _("a plan")),
        "date": reader.day(data.get("plan_date")),
        "due": reader.moment(data.get("consumer_due_at")),
    }
    if entry.action == "sent_to_platform":
        text = _("%(who)s asked the platform to judge the dispute.") % values
    elif data.get("plan") == Plan.ANOTHER_DATE and values["date"]:
        text = _("%(who)s proposed: %(plan)s, issuing by %(date)s.") % values
    else:
        text = _("%(who)s proposed: %(plan)s.") % values
    if entry.action == "settlement_proposed" and values["due"]:
        if reader.audience == "consumer":
            text = then(text, _("You can accept or reject it until %(due)s.") % values)
        else:
            text = then(text, _("The consumer can accept or reject it until %(due)s.") % values)
    return Words(text, note=data.get("note") or "")


@describes("merchant_timed_out")
def merchant_timed_out(entry: HistoryEntry, reader: Reader) -> str:
    return _("%(who)s did not answer the dispute in time; the platform will judge it.") % {
        "who": reader.shop_name or _("The shop")
    }


@describes("settlement_accepted")
def accepted(entry: HistoryEntry, reader: Reader) -> str:
    return _("%(who)s accepted the shop's plan; the dispute is settled.") % {
        "who": reader.consumer()
    }


@describes("settlement_deemed_accepted")
def deemed_accepted(entry: HistoryEntry, reader: Reader) -> str:
    return _(
        "No decision on the shop's plan in time: it counts as accepted; the dispute is settled."
    )


@describes("settlement_rejected")
def rejected(entry: HistoryEntry, reader: Reader) -> Words:
    text = _("%(who)s rejected the shop's plan; the platform will judge the dispute.") % {
        "who": reader.consumer()
    }
    return Words(text, note=entry.data.get("note") or "")


@describes("withdrawn")
def withdrawn(entry: HistoryEntry, reader: Reader) -> Words:
    return Words(
        _("%(who)s withdrew the dispute.") % {"who": reader.consumer()},
        note=entry.data.get("note") or "",
    )


@describes("evidence_submitted")
def evidence_submitted(entry: HistoryEntry, reader: Reader) -> str:
    count = len(entry.data.get("evidence_ids") or [])
    if entry.data.get("party") == Evidence.Party.CONSUMER:
        who = reader.consumer()
    else:
        who = reader.shop(entry)
    said = ngettext(
        "%(who)s submitted %(count)s piece of evidence.",
        "%(who)s submitted %(count)s pieces of evidence.",
        count,
    )
    return said % {"who": who, "count": count}


@describes("judged")
def judged(entry: HistoryEntry, reader: Reader) -> Words:
    data = entry.data
    verdict = _label(Dispute.Verdict, data.get("verdict"), _("judged"))
    reason = _label(Dispute.ReasonCode, data.get("reason_code"))
    values = {"who": reader.platform(entry), "verdict": verdict, "reason": reason}
    if reason:
        text = _("%(who)s judged: %(verdict)s (%(reason)s).") % values
    else:
        text = _("%(who)s judged: %(verdict)s.") % values
    return Words(text, note=data.get("reason") or "")


@describes("proposal_updated")
def proposal_updated(entry: HistoryEntry, reader: Reader) -> str:
    after = entry.data.get("after") or ["", ""]
    verdict = _label(Dispute.Verdict, after[0] if after else "", "")
    if verdict:
        return _("The platform updated its proposed verdict: %(verdict)s.") % {"verdict": verdict}
    return _("The platform updated its proposed verdict.")


@describes("plan_promise_kept")
def plan_promise_kept(entry: HistoryEntry, reader: Reader) -> str:
    return _("%(who)s kept its promise: the invoice was issued by %(date)s.") % {
        "who": reader.shop_name or _("The shop"),
        "date": reader.day(entry.data.get("plan_date")),
    }


@describes("plan_promise_broken")
def plan_promise_broken(entry: HistoryEntry, reader: Reader) -> str:
    values = {
        "who": reader.shop_name or _("The shop"),
        "date": reader.day(entry.data.get("plan_date")),
    }
    text = _("%(who)s did not issue the invoice by the agreed date %(date)s: promise broken.")
    if reader.audience == "consumer":
        return then(text % values, _("You can send the dispute to the platform."))
    return text % values


@describes("reopened")
def reopened(entry: HistoryEntry, reader: Reader) -> str:
    return _(
        "%(who)s sent the dispute to the platform because the agreed issue date passed without "
        "an invoice; the platform will judge it."
    ) % {"who": reader.consumer()}
