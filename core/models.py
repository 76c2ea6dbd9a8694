"""The floor below the apps: shops and their staff (who may see and do what), the append-only
history every app writes, the record of job runs, and the outbox of messages to send."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .scoping import ScopedQuerySet

User = settings.AUTH_USER_MODEL


class ShopQuerySet(ScopedQuerySet):
    shop_path = "pk"
    consumer_path = None  # consumers see shops only through their orders


class Shop(models.Model):
    """A POP merchant's store; every merchant-side object belongs to exactly one shop."""

    jd_shop_id = models.CharField(_("JD shop id"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # The seller's tax id printed on the shop's invoices (spec 11: an upload must carry it).
    tax_id = models.CharField(_("seller tax id"), max_length=20, blank=True)
    # Gray release (spec 7): the new flow is on from this instant; null means the old flow.
    new_flow_since = models.DateTimeField(_("new flow since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["jd_shop_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.jd_shop_id})"

    @property
    def on_new_flow(self) -> bool:
        return self.new_flow_since is not None


class MembershipQuerySet(ScopedQuerySet):
    consumer_path = None


class ShopMembership(models.Model):
    """A user who works for a shop, with a role (子账号权限). Changed only by the shop's owner,
    through `core.staff`, with a history entry."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        OPERATOR = "operator", _("operator")
        VIEWER = "viewer", _("viewer")

    WRITERS = (Role.OWNER, Role.OPERATOR)

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("shop")
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="shop_memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop membership")
        verbose_name_plural = _("shop memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "operator", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop} ({self.get_role_display()})"


class HistoryIsAppendOnly(Exception):
    """History entries (and replies, submitted evidence) are never edited or deleted."""


class AppendOnlyQuerySet(ScopedQuerySet):
    """Rows that are only ever added: no bulk update or delete through the ORM (nor in SQL:
    a trigger, `core.appendonly`)."""

    def update(self, **kwargs) -> int:
        raise HistoryIsAppendOnly

    def delete(self):
        raise HistoryIsAppendOnly


class AppendOnlyModel(models.Model):
    """A row that is only ever added: saving it again or deleting it is refused (with
    `AppendOnlyQuerySet` as its manager)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise HistoryIsAppendOnly
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly


class HistoryQuerySet(AppendOnlyQuerySet):
    """History is read through its request (`of_request`), or whole by arbitrators; it is
    append-only (`AppendOnlyQuerySet`)."""

    shop_path = None
    consumer_path = None

    def of_request(self, request: models.Model) -> HistoryQuerySet:
        """The story of one invoice request, which the caller read through its own scope."""
        return self.filter(request_id=request.pk).for_prefetch()


class HistoryEntry(AppendOnlyModel):
    """One state change of a request, ticket, dispute or penalty (or of a shop's staff):
    append-only, read by arbitrators and, in words, by both sides.

    Every entry about an invoice request carries its id, so a request's whole story (its
    ticket and dispute included) is one indexed read. The invoices app adds the foreign key to
    its requests in the database, so this floor needs no reference up to it.
    """

    class Subject(models.TextChoices):
        REQUEST = "request", _("invoice request")
        TICKET = "ticket", _("urge ticket")
        DISPUTE = "dispute", _("dispute")
        SHOP = "shop", _("shop")
        CATEGORY = "category", _("category")

    request_id = models.BigIntegerField(_("invoice request"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=16, choices=Subject.choices)
    subject_id = models.BigIntegerField(_("subject id"))
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("empty when the system did it"),
        db_index=False,  # history_actor_idx: the jobs' rows (no actor) stay out of it
    )
    action = models.CharField(_("action"), max_length=40)
    state_from = models.CharField(_("state before"), max_length=24, blank=True)
    state_to = models.CharField(_("state after"), max_length=24, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["request_id", "at"], name="history_request_idx"),
            # Only for a user's rows (a user's deletion checks PROTECT with it).
            models.Index(
                fields=["actor"], name="history_actor_idx", condition=Q(actor__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subject__in=["shop", "category"]) | Q(request_id__isnull=False),
                name="history_about_a_request",
            )
        ]

    def __str__(self) -> str:
        from .timeline import sentence  # the words of the entry; they read the models

        return sentence(self)


class JobRun(models.Model):
    """One run of a scheduled job: when, for which "now", what it did, or how it failed. A run
    with no outcome after its time limit (its worker was killed) is marked abandoned."""

    name = models.CharField(_("job"), max_length=60)
    as_of = models.DateTimeField(_("as of"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), null=True)
    abandoned = models.BooleanField(_("abandoned"), default=False)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["name", "-finished_at"], name="jobrun_last_ok_idx", condition=Q(ok=True)
            ),
            models.Index(
                fields=["started_at"],
                name="jobrun_unfinished_idx",
                condition=Q(finished_at__isnull=True),
            ),
            models.Index(fields=["name", "started_at"], name="jobrun_name_started_idx"),
            # /healthz: when a worker last started anything
            models.Index(fields=["started_at"], name="jobrun_started_idx"),
            models.Index(
                fields=["finished_at"], name="jobrun_abandoned_idx", condition=Q(abandoned=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """A message that must go out, written in the transaction of the change that causes it and
    sent later by `drain_outbox`; `key` makes each message exist at most once."""

    key = models.CharField(_("key"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="outbox_unsent_idx", condition=Q(sent_at__isnull=True))
        ]

    def __str__(self) -> str:
        return self.key


class ApiTokenQuerySet(ScopedQuerySet):
    shop_path = None  # a token is its user's own
    consumer_path = "user"

    def for_user(self, user: Any) -> Self:
        """The tokens of `user` (merchant staff, consumer or service account alike)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)._with_scope("user")

    def live(self) -> Self:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the API (issue 12). Only the SHA-256 of the token is stored: the token
    itself is shown once, when it is made; `prefix` (its first characters) names it in lists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(_("hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one user (issue 12): the first request with it inserts the row
    (in progress) in a transaction of its own, the unique constraint keeping out any second
    one; its response is stored and replayed to a repeat with the same body for 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    body = models.JSONField(_("body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
