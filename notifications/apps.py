from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Notifications (spec 10): above the domain apps, it hears their events (their signals and
    the outbox) and delivers them: inbox, e-mail, signed webhooks."""

    name = "notifications"
    verbose_name = _("Notifications")
    domain = True

    def ready(self) -> None:
        from core.jobs import register

        from .kinds import disputes, exchanges, penalties, tickets, webhooks

        for kinds in (tickets, exchanges, disputes, penalties, webhooks):
            kinds.connect()
        register(
            "drain_outbox",
            "notifications.delivery.drain_outbox",
            task="core.drain_outbox",
            help="Deliver the events of the outbox: inbox, e-mail, webhook deliveries.",
        )
        register(
            "deliver_webhooks",
            "notifications.webhooks.deliver_webhooks",
            task="notifications.deliver_webhooks",
            help="Send the due webhook deliveries, signed; retry the failed ones.",
        )
