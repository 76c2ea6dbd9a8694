from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self) -> None:
        from jdpop import health

        from .health import health_dispute_deadlines

        if all(name != "dispute_deadlines" for name, _check in health.EXTRA_CHECKS):
            health.EXTRA_CHECKS.append(("dispute_deadlines", health_dispute_deadlines))
