from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def grant_arbitrator_permissions(sender, using="default", **kwargs) -> None:
    """Arbitrators read everything of the three domain apps and change what the admin lets
    them (the admin itself keeps history and transitions read-only)."""
    from django.contrib.auth.models import Group, Permission

    from .models import ARBITRATOR_GROUP

    group, _created = Group.objects.using(using).get_or_create(name=ARBITRATOR_GROUP)
    perms = Permission.objects.using(using).filter(
        content_type__app_label__in=["invoices", "tickets", "disputes", "django_celery_beat"],
        codename__regex=r"^(view|change)_",
    )
    group.permissions.add(*perms)


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices")

    def ready(self) -> None:
        post_migrate.connect(grant_arbitrator_permissions, dispatch_uid="arbitrator-perms")
