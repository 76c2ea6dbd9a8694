from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    """Orders, invoice requests (spec 3) and the gray release of the new flow (spec 7)."""

    name = "invoices"
    verbose_name = _("Invoices")
    domain = True
