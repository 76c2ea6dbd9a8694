"""Orders, invoice requests and the gray release's audit (spec 3, 7)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import HistoryEntry, HistoryQuerySet, Shop
from core.scoping import ScopedQuerySet

from .querysets import InvoiceRequestQuerySet, OrderQuerySet

User = settings.AUTH_USER_MODEL


class Order(models.Model):
    """A consumer's order in one shop, as the platform's order system last described it."""

    class State(models.TextChoices):
        PLACED = "placed", _("placed")
        PAID = "paid", _("paid")
        SHIPPED = "shipped", _("shipped")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", pgettext_lazy("order state", "cancelled")
        RETURNED = "returned", _("returned")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop")
    )
    # (No index of its own: order_consumer_idx starts with it.)
    consumer = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("consumer"),
        db_index=False,
    )
    # Unique by a constraint (the order feed's ON CONFLICT key) rather than `unique=True`, which
    # on PostgreSQL adds a second, LIKE-pattern index that every feed write would maintain.
    number = models.CharField(_("order number"), max_length=32)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # What the consumer got back (a partial return leaves the order completed; a full one makes
    # it returned): sales are amount less this.
    returned_amount = models.DecimalField(
        _("returned amount"), max_digits=12, decimal_places=2, default=0
    )
    # The platform's time of the state it last sent: a message older than this changes nothing.
    platform_updated_at = models.DateTimeField(_("platform updated at"), null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["consumer", "-created_at"], name="order_consumer_idx"),
            # Sales per shop and month over a range of completion times (categories): an
            # index-only range scan.
            models.Index(
                fields=["completed_at"],
                include=["shop", "amount", "returned_amount"],
                condition=Q(completed_at__isnull=False),
                name="order_sales_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_nonnegative"),
            models.CheckConstraint(
                condition=Q(
                    state__in=["placed", "paid", "shipped", "completed", "cancelled", "returned"]
                ),
                name="order_state_valid",
            ),
            # Completed orders carry their completion; a returned one keeps it if it had one.
            models.CheckConstraint(
                condition=Q(state__in=["completed", "returned"]) | Q(completed_at__isnull=True),
                name="order_completed_at_only_if_completed",
            ),
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(completed_at__isnull=False),
                name="order_completed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(returned_amount__gte=0, returned_amount__lte=F("amount")),
                name="order_returned_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_completed(self) -> bool:
        return self.state == self.State.COMPLETED

    @property
    def is_closed(self) -> bool:
        """Cancelled or (fully) returned: no invoice is asked for any more (spec 3)."""
        return self.state in CLOSED_ORDER_STATES


# A partial return leaves an order completed; a full one makes it returned.
CLOSED_ORDER_STATES = (Order.State.CANCELLED, Order.State.RETURNED)


class InvoiceRequest(models.Model):
    """A consumer's request for an invoice (开票申请) for one order, made any time before the
    order is cancelled or returned."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        ISSUED = "issued", _("issued")
        REFUSED = "refused", _("refused")
        CANCELLED = "cancelled", pgettext_lazy("invoice request state", "cancelled")

    TERMINAL_STATES = (State.ISSUED, State.REFUSED, State.CANCELLED)
    # A re-issue (补开) may follow a request that ended without an invoice.
    REISSUABLE_STATES = (State.REFUSED, State.CANCELLED)

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("original")
        REISSUE = "reissue", _("re-issue (补开)")
        EXCHANGE = "exchange", _("exchange (换开)")

    class Check(models.TextChoices):
        """What reading the uploaded invoice back found (spec 11). A mismatch is refused, so an
        issued request is verified or unreadable (or unchecked: issued before the check)."""

        NONE = "", _("not checked")
        VERIFIED = "verified", _("verified: read back and matched")
        UNREADABLE = "unreadable", _("not machine-checked")

    class ExchangeReason(models.TextChoices):
        WRONG_TITLE = "wrong_title", _("wrong title")
        WRONG_TAX_ID = "wrong_tax_id", _("wrong tax id")
        WRONG_AMOUNT = "wrong_amount", _("wrong amount")
        OTHER = "other", _("other")

    class TitleType(models.TextChoices):
        PERSON = "person", _("person (个人)")
        ORGANISATION = "organisation", _("organisation (单位)")

    class InvoiceKind(models.TextChoices):
        E_ORDINARY = "e_ordinary", _("electronic ordinary invoice (电子普通发票)")
        VAT_SPECIAL = "vat_special", _("VAT special invoice (增值税专用发票)")
        PAPER_ORDINARY = "paper_ordinary", _("paper ordinary invoice (纸质普通发票)")
        DIGITAL_ORDINARY = "digital_ordinary", _("fully digital ordinary invoice (数电普通发票)")
        DIGITAL_SPECIAL = "digital_special", _("fully digital special invoice (数电专用发票)")

    ELECTRONIC_KINDS = (
        InvoiceKind.E_ORDINARY,
        InvoiceKind.DIGITAL_ORDINARY,
        InvoiceKind.DIGITAL_SPECIAL,
    )
    SPECIAL_KINDS = (InvoiceKind.VAT_SPECIAL, InvoiceKind.DIGITAL_SPECIAL)

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="invoice_requests", verbose_name=_("order")
    )
    # shop and consumer repeat the order's so that scoping and the jobs need no join.
    # No index of their own: ir_shop_state_idx and ir_consumer_idx lead with them (issue 14:
    # every index is one more write when the opening job marks the requests).
    shop = models.ForeignKey(
        Shop,
        on_delete=models.PROTECT,
        related_name="invoice_requests",
        verbose_name=_("shop"),
        db_index=False,
    )
    consumer = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="invoice_requests",
        verbose_name=_("consumer"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ORIGINAL)
    # The earlier request a re-issue follows, or whose issued invoice an exchange replaces.
    reissue_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reissues",
        verbose_name=_("follows the request"),
        db_index=False,  # ir_reissue_of_idx: only the rows that have one
    )
    exchange_reason = models.CharField(
        _("exchange reason"), max_length=20, choices=ExchangeReason.choices, blank=True
    )
    exchange_note = models.TextField(_("exchange note"), blank=True)

    title_type = models.CharField(_("title type"), max_length=16, choices=TitleType.choices)
    title = models.CharField(_("invoice title"), max_length=200)
    tax_id = models.CharField(_("tax id"), max_length=20, blank=True)
    tax_id_warning = models.CharField(_("tax id warning"), max_length=200, blank=True)
    invoice_kind = models.CharField(_("invoice kind"), max_length=20, choices=InvoiceKind.choices)
    email = models.EmailField(_("e-mail"), blank=True)
    registered_address = models.CharField(_("registered address"), max_length=200, blank=True)
    registered_phone = models.CharField(_("registered phone"), max_length=32, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)

    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The request is overdue once now is strictly past this instant (spec 4.1, 7); null while
    # its shop is on the old flow or its order is not completed (`overdue.py`). Stored so that
    # the urge job is one index range scan.
    overdue_at = models.DateTimeField(_("overdue after"), null=True, blank=True)

    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    invoice_code = models.CharField(_("invoice code"), max_length=12, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True)
    invoice_file = models.FileField(_("invoice file"), upload_to="invoices/%Y/%m/", blank=True)
    invoice_content_type = models.CharField(_("invoice file type"), max_length=40, blank=True)
    invoice_check = models.CharField(
        _("invoice check"), max_length=12, choices=Check.choices, blank=True
    )
    # What was read from the file: number, code, date, buyer and seller names and tax ids,
    # total, and where each came from (the text layer, the QR code, the XML).
    invoice_read = models.JSONField(_("read from the invoice"), default=dict, blank=True)
    # An exchange (换开) issued a replacement: this invoice is no longer the valid one.
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    refused_at = models.DateTimeField(_("refused at"), null=True, blank=True)
    refuse_reason = models.TextField(_("refusal reason"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    objects = InvoiceRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice request")
        verbose_name_plural = _("invoice requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "state", "-requested_at"], name="ir_shop_state_idx"),
            models.Index(fields=["consumer", "-requested_at"], name="ir_consumer_idx"),
            # The dashboard's "at risk" list: a shop's pending requests soon overdue, soonest
            # first. (It replaced an index on overdue_at alone, which walked every shop's next
            # two days and filtered by shop; the opening job reads its own queue.)
            models.Index(
                fields=["shop", "overdue_at"],
                name="ir_perf_shop_at_risk_idx",
                condition=Q(state="pending", overdue_at__isnull=False),
            ),
            # A merchant's list, newest first: the page's keys index-only (core.pages'
            # deferred join), then 25 rows by primary key.
            models.Index(fields=["shop", "-requested_at", "-id"], name="ir_perf_shop_list_idx"),
            # The re-issues and exchanges of a request (null on almost every row).
            models.Index(
                fields=["reissue_of"],
                name="ir_reissue_of_idx",
                condition=Q(reissue_of__isnull=False),
            ),
            # The admin's search by tax id (exact; only the rows that have one).
            models.Index(fields=["tax_id"], name="ir_perf_tax_id_idx", condition=~Q(tax_id="")),
            # The scorecard's issuing times of a month, index-only.
            models.Index(
                fields=["shop", "issued_at"],
                include=["requested_at"],
                name="ir_perf_issued_idx",
                condition=Q(state="issued"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "issued", "refused", "cancelled"]),
                name="ir_state_valid",
            ),
            # At most one live (pending or issued) request per order, whatever races; an
            # exchange (换开) lives beside the issued request it would replace, one at a time.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=["pending", "issued"]) & ~Q(kind="exchange"),
                name="ir_one_live_request_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state="pending", kind="exchange"),
                name="ir_one_pending_exchange_per_order",
            ),
            models.CheckConstraint(
                condition=~Q(kind="exchange") | ~Q(exchange_reason=""),
                name="ir_exchange_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(invoice_check__in=["", "verified", "unreadable"]),
                name="ir_invoice_check_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="issued")
                | (Q(issued_at__isnull=False) & ~Q(invoice_number="") & ~Q(invoice_file="")),
                name="ir_issued_has_invoice",
            ),
            models.CheckConstraint(
                condition=~Q(state="refused")
                | (Q(refused_at__isnull=False) & ~Q(refuse_reason="")),
                name="ir_refused_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(title_type="organisation") | ~Q(tax_id=""),
                name="ir_organisation_has_tax_id",
            ),
            models.CheckConstraint(
                condition=Q(kind="original", reissue_of__isnull=True)
                | Q(kind__in=["reissue", "exchange"], reissue_of__isnull=False),
                name="ir_reissue_has_previous",
            ),
        ]

    def __str__(self) -> str:
        return _("Invoice request #%(id)s, %(state)s") % {
            "id": self.pk,
            "state": self.get_state_display(),
        }

    @property
    def history(self) -> HistoryQuerySet:
        """The request's whole story (its ticket and disputes included), oldest first."""
        return HistoryEntry.objects.of_request(self)


class DueRequestQuerySet(ScopedQuerySet):
    shop_path = None
    consumer_path = None

    def due(self, now: datetime) -> DueRequestQuerySet:
        """The rows of the pending requests strictly past their overdue instant at `now`,
        oldest first, from the index `ir_due_queue_idx`."""
        return self.filter(due_at__lt=now, request__state=InvoiceRequest.State.PENDING).order_by(
            "due_at", "request_id"
        )


class DueRequest(models.Model):
    """The opening job's queue (issue 14): a row for each pending request that has an overdue
    instant and that the job has not taken yet, `due_at` being that instant.

    The database keeps it, as it keeps an index: the triggers of migration
    `0097_perf_due_queue` add, move or remove a request's row whenever its `state` or
    `overdue_at` changes, whoever writes it (the services, the order feed, the gray release,
    bulk SQL, COPY), so no writer can forget it. `tickets.services.opening` claims the due rows
    and deletes them in the batch that opens their tickets. The row is narrow so that leaving
    the queue is a small delete here, not a new version of the wide request row in each of its
    indexes, and a run with nothing to do reads an empty index range.

    Beware: on SQLite, a migration that rebuilds the request table (most `AlterField`s, an
    `AddField` with a default) drops its triggers without a word; such a migration must create
    them again (`tests/tickets/test_opening_queue.py` checks that they exist)."""

    request = models.OneToOneField(
        InvoiceRequest,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="due",
        verbose_name=_("invoice request"),
    )
    due_at = models.DateTimeField(_("overdue after"))

    objects = DueRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("request due for an urge ticket")
        verbose_name_plural = _("requests due for an urge ticket")
        indexes = [models.Index(fields=["due_at", "request"], name="ir_due_queue_idx")]

    def __str__(self) -> str:
        return f"{self.request_id} @ {self.due_at:%Y-%m-%d %H:%M}"


class ShopFlowChange(models.Model):
    """Gray release audit (spec 7): who turned the new flow on or off for a shop, and when."""

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="flow_changes", verbose_name=_("shop")
    )
    on = models.BooleanField(_("new flow on"))
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    requests_rescheduled = models.PositiveIntegerField(_("pending requests rescheduled"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("gray release change")
        verbose_name_plural = _("gray release changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.shop_id} {'on' if self.on else 'off'} @ {self.at:%Y-%m-%d %H:%M}"


class BulkUploadQuerySet(ScopedQuerySet):
    consumer_path = None


class BulkUpload(models.Model):
    """A merchant's upload of many invoices at once (spec 11): a zip (or many files, packed as
    one), read and matched to the shop's pending requests by a Celery task, with its progress
    and a report line per file."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="bulk_uploads", verbose_name=_("shop")
    )
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    archive = models.FileField(_("archive"), upload_to="bulk/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200, blank=True)
    digest = models.CharField(_("SHA-256"), max_length=64, blank=True)
    total = models.PositiveIntegerField(_("files"), default=0)
    done = models.PositiveIntegerField(_("files done"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)  # outcome → files
    report = models.JSONField(_("report"), default=list, blank=True)  # one dict per file
    error = models.TextField(_("error"), blank=True)

    objects = BulkUploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("bulk upload")
        verbose_name_plural = _("bulk uploads")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="bulk_shop_idx")]

    def __str__(self) -> str:
        return f"{self.name or self.pk} ({self.state})"
