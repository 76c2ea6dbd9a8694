"""Page forms for disputes: they only shape input; the rules live in `disputes.services` and
what each plan requires is declared once in `disputes.plans.PLAN_RULES` (spec 5)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import answer_date, answer_note, final_confirmation

from .models import Dispute
from .plans import PLAN_RULES, Plan


class OpenDisputeForm(forms.Form):
    """The consumer opens a dispute of one kind, saying what is wrong."""

    kind = forms.ChoiceField(choices=Dispute.Kind.choices, widget=forms.HiddenInput)
    complaint = forms.CharField(
        label=_("What is wrong?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The shop and the platform read this."),
        # The service trims and checks it; left optional here so its message is the one shown.
        required=False,
    )


class RejectForm(forms.Form):
    """The consumer rejects the merchant's settlement plan: the platform will judge."""

    note = forms.CharField(
        label=_("Why do you reject the plan?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class EvidenceForm(forms.Form):
    """A draft piece of evidence: text and/or a file (PDF, OFD or image)."""

    text = forms.CharField(
        label=_("evidence text"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    file = forms.FileField(
        label=_("evidence file"), required=False, help_text=_("PDF, OFD, PNG or JPEG.")
    )


class AnswerForm(forms.Form):
    """The merchant's plan. Sending is explicit: the merchant confirms that it is final."""

    plan = forms.ChoiceField(label=_("plan"), choices=Plan.choices, widget=forms.RadioSelect)
    plan_date = answer_date(
        label=_("agreed issue date"),
        help_text=_("Only for 另行约定开票日期: a date in the future (China time)."),
    )
    note = answer_note(
        help_text=_("What you agreed or why; the consumer and the platform read it."),
    )
    confirm = final_confirmation(
        label=_("I understand that this answer is sent and cannot be edited."),
        required_message=_("Tick the box to confirm that the answer is final."),
    )


def plan_requirements() -> list[dict]:
    """PLAN_RULES as rows the answer form shows before the merchant sends."""
    labels = dict(Plan.choices)
    return [
        {
            "value": str(value),
            "label": labels[value],
            "settlement": rule.settlement,
            "date": rule.needs_date,
            "note": rule.needs_note,
            "evidence": rule.needs_evidence,
            "issued_invoice": rule.needs_issued_invoice,
        }
        for value, rule in PLAN_RULES.items()
    ]
