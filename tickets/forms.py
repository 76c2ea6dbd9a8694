"""Page forms for urge tickets: they shape input; what each resolution requires is checked by
`tickets.services.ticket_reply`, and the form only shows it (spec 4.3)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import answer_date, answer_note, final_confirmation

from .models import UrgeTicket


class TicketReplyForm(forms.Form):
    """The merchant's reply. Sending is explicit: the merchant confirms that it is final."""

    resolution = forms.ChoiceField(
        label=_("resolution"),
        choices=UrgeTicket.Resolution.choices,
        widget=forms.RadioSelect,
    )
    note = answer_note(
        help_text=_("What you agreed with the consumer. The platform judges disputes on it."),
    )
    promised_date = answer_date(
        label=_("promised issue date"),
        help_text=_("Only for 已协商开票时间: a date in the future (China time)."),
    )
    attachment = forms.FileField(
        label=_("attachment"),
        required=False,
        help_text=_("Optional evidence, e.g. a screenshot of the conversation (PDF or image)."),
    )
    confirm = final_confirmation(
        label=_("I understand that this reply is sent to the consumer and cannot be edited."),
        required_message=_("Tick the box to confirm that the reply is final."),
    )


def reply_requirement_rows() -> list[dict]:
    """`services.reply_requirements()` as rows, one per resolution, for the form's hints and the
    API: value, label, and whether it needs a note, a date, an attachment, the uploaded invoice."""
    from . import services

    labels = dict(UrgeTicket.Resolution.choices)
    rows = []
    for value, needs in services.reply_requirements().items():
        row = {
            "value": value,
            "label": str(needs.get("label") or labels.get(value, value)),
            "note": bool(needs.get("note")),
            "date": bool(needs.get("date")),
            "attachment": bool(needs.get("attachment")),
            "uploaded_invoice": bool(needs.get("uploaded_invoice", needs.get("uploaded"))),
        }
        row["hints"] = [str(text) for key, text in _HINTS if row[key]]
        rows.append(row)
    return rows


_HINTS = (
    ("note", _("a note")),
    ("date", _("an issue date after today")),
    ("attachment", _("an attachment")),
)
