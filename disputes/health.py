"""/healthz check for disputes: is the deadline job keeping up? (jdpop.health.EXTRA_CHECKS)"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from .models import Dispute


def health_dispute_deadlines() -> dict:
    """Disputes still awaiting the merchant or the consumer although their deadline passed more
    than JDPOP_JOB_STALE_AFTER ago: the deadline job is not running (or failing). Two short
    range scans of the partial deadline indexes."""
    try:
        grace = getattr(settings, "JDPOP_JOB_STALE_AFTER", timedelta(minutes=15))
        cutoff = timezone.now() - grace
        merchant = Dispute.objects.filter(
            state=Dispute.State.AWAITING_MERCHANT, merchant_due_at__lt=cutoff
        ).aggregate(n=Count("pk"))["n"]
        consumer = Dispute.objects.filter(
            state=Dispute.State.AWAITING_CONSUMER, consumer_due_at__lt=cutoff
        ).aggregate(n=Count("pk"))["n"]
    except Exception as e:  # a health check reports, never raises
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    return {
        "ok": merchant == 0 and consumer == 0,
        "merchant_past_due": merchant,
        "consumer_past_due": consumer,
        "grace_seconds": grace.total_seconds(),
    }
