"""Page forms: they only shape input; the rules live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import InvoiceRequest


class InvoiceRequestForm(forms.Form):
    """The consumer's invoice details (spec 3)."""

    title_type = forms.ChoiceField(label=_("title type"), choices=InvoiceRequest.TitleType.choices)
    title = forms.CharField(label=_("invoice title"), max_length=200)
    tax_id = forms.CharField(
        label=_("tax id"),
        max_length=20,
        required=False,
        help_text=_("Required for an organisation: the 18-character unified social credit code."),
    )
    invoice_kind = forms.ChoiceField(
        label=_("invoice kind"), choices=InvoiceRequest.InvoiceKind.choices
    )
    email = forms.EmailField(
        label=_("e-mail"), required=False, help_text=_("Electronic invoices are sent here.")
    )
    registered_address = forms.CharField(
        label=_("registered address"), max_length=200, required=False
    )
    registered_phone = forms.CharField(label=_("registered phone"), max_length=32, required=False)
    bank_name = forms.CharField(label=_("bank"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("bank account"), max_length=40, required=False)


class IssueForm(forms.Form):
    """The merchant's upload: the invoice file and its number."""

    invoice_code = forms.CharField(
        label=_("invoice code"),
        max_length=12,
        required=False,
        help_text=_("10 to 12 digits; leave empty for a 20-digit fully digital invoice number."),
    )
    invoice_number = forms.CharField(
        label=_("invoice number"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to take the number read from the invoice file."),
    )
    file = forms.FileField(
        label=_("invoice file"),
        help_text=_(
            "PDF, OFD, XML, PNG or JPEG. The file is read back and checked against the request."
        ),
    )


class RefuseForm(forms.Form):
    """The merchant's refusal, with the reason the consumer will read."""

    reason = forms.CharField(label=_("refusal reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ExchangeForm(InvoiceRequestForm):
    """The consumer's exchange (换开): why, and the corrected invoice details."""

    exchange_reason = forms.ChoiceField(
        label=_("why exchange"), choices=InvoiceRequest.ExchangeReason.choices
    )
    exchange_note = forms.CharField(
        label=_("what is wrong"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the reason is “other”."),
    )
    field_order = ["exchange_reason", "exchange_note"]
