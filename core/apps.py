from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def grant_arbitrator_permissions(sender, using="default", **kwargs) -> None:
    """Arbitrators read everything of the domain apps (those whose AppConfig says `domain`) and
    of the beat schedule, and change what the admin lets them (the admin itself keeps history
    and transitions read-only)."""
    from django.contrib.auth.models import Group, Permission

    from .roles import ARBITRATOR_GROUP

    labels = [c.label for c in apps.get_app_configs() if getattr(c, "domain", False)]
    group, _created = Group.objects.using(using).get_or_create(name=ARBITRATOR_GROUP)
    perms = Permission.objects.using(using).filter(
        content_type__app_label__in=[*labels, "django_celery_beat"],
        codename__regex=r"^(view|change)_",
    )
    group.permissions.add(*perms)


class CoreConfig(AppConfig):
    """Shops and staff roles, scoping, history, uploads, the job runner and the outbox."""

    name = "core"
    verbose_name = _("Shops and platform")
    domain = True

    def ready(self) -> None:
        post_migrate.connect(grant_arbitrator_permissions, dispatch_uid="arbitrator-perms")
        from .jobs import register

        register(
            "prune_idempotency_keys",
            "core.idempotency.prune_idempotency_keys",
            task="core.prune_idempotency_keys",
            help="Delete the API's Idempotency-Keys older than JDPOP_IDEMPOTENCY_TTL (24 h).",
        )
