"""The forms of the notification pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .events import Kind
from .models import NotificationSettings


class SettingsForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the e-mails"),
        choices=NotificationSettings.Language.choices,
        required=False,
    )
    email_kinds = forms.MultipleChoiceField(
        label=_("Events I also want by e-mail"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, kinds: list[Kind], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email_kinds"].choices = [(k.name, k.label) for k in kinds]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL (https://)"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/jdpop/webhooks"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
