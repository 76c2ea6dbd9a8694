"""/healthz check of disputes: is the deadline job keeping up? (listed in jdpop.health)"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from .models import Dispute


def health_dispute_deadlines() -> dict:
    """Disputes still awaiting the merchant or the consumer although their deadline passed more
    than JDPOP_JOB_STALE_AFTER ago: the deadline job is not running (or failing). Two short
    range scans of the partial deadline indexes."""
    grace = settings.JDPOP_JOB_STALE_AFTER
    cutoff = timezone.now() - grace
    disputes = Dispute.objects.for_system()
    merchant = disputes.merchant_overdue(cutoff).aggregate(n=Count("pk"))["n"]
    consumer = disputes.consumer_overdue(cutoff).aggregate(n=Count("pk"))["n"]
    return {
        "ok": merchant == 0 and consumer == 0,
        "merchant_past_due": merchant,
        "consumer_past_due": consumer,
        "grace_seconds": grace.total_seconds(),
    }
