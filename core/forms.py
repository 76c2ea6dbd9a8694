"""Fields of the final-answer forms (a ticket's reply, a dispute's plan; both shown by
templates/_final_answer_form.html): the optional note and date that some choices need (their
services check which), and the tick box that makes sending explicit."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


def answer_note(*, help_text: str) -> forms.CharField:
    """The answer's note, a few lines (optional here: the service says when it is needed)."""
    return forms.CharField(
        label=_("note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


def answer_date(*, label: str, help_text: str) -> forms.DateField:
    """A date picked in the browser's date input (optional here, like the note)."""
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=help_text,
    )


def final_confirmation(*, label: str, required_message: str) -> forms.BooleanField:
    """The tick box without which the answer is not sent (`required_message` says so)."""
    return forms.BooleanField(
        label=label, required=True, error_messages={"required": required_message}
    )
