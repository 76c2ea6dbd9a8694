from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    """Disputes (spec 5): the consumer's complaints, the merchant's plans, the judgments."""

    name = "disputes"
    verbose_name = _("Disputes")
    domain = True

    def ready(self) -> None:
        from core.jobs import register

        register(
            "enforce_dispute_deadlines",
            "disputes.services.disputes_enforce_deadlines",
            task="disputes.enforce_deadlines",
            help=(
                "Send disputes past the merchant's deadline to the platform (with a penalty) "
                "and settle those past the consumer's deadline. Prints one JSON line."
            ),
        )
