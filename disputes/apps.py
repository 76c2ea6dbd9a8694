from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    """Disputes (spec 5): the consumer's complaints, the merchant's plans, the judgments."""

    name = "disputes"
    verbose_name = _("Disputes")
    domain = True

    def ready(self) -> None:
        from core.jobs import register
        from invoices.signals import invoice_issued

        from .services import disputes_keep_promises

        register(
            "enforce_dispute_deadlines",
            "disputes.services.disputes_enforce_deadlines",
            task="disputes.enforce_deadlines",
            help=(
                "Send disputes past the merchant's deadline to the platform (with a penalty), "
                "settle those past the consumer's deadline, and flag the accepted plans whose "
                "agreed issue date passed without an invoice (承诺不履约, with a penalty). "
                "Prints one JSON line."
            ),
        )
        # An upload keeps the pending promises of the disputes it settles, in its transaction.
        invoice_issued.connect(disputes_keep_promises, dispatch_uid="disputes-keep-promises")
