from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    """Orders, invoice requests (spec 3) and the gray release of the new flow (spec 7)."""

    name = "invoices"
    verbose_name = _("Invoices")
    domain = True

    def ready(self) -> None:
        from core.jobs import register

        register(
            "resume_bulk_uploads",
            "invoices.bulk.services.resume_bulk_uploads",
            task="invoices.resume_bulk_uploads",
            help="Send again the bulk uploads whose task was lost or whose worker died.",
        )
        from .exchange import on_invoice_issued
        from .signals import invoice_issued

        # An exchange's replacement, once issued, replaces its original (in the same transaction).
        invoice_issued.connect(on_invoice_issued, dispatch_uid="invoice-exchange-replaces")
