from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PenaltiesConfig(AppConfig):
    """Penalties and the shop scorecard (spec 8): above tickets and disputes."""

    name = "penalties"
    verbose_name = _("Penalties and scorecard")
    domain = True

    def ready(self) -> None:
        from .receivers import connect

        connect()
