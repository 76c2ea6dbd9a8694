"""/healthz check of disputes: is the deadline job keeping up? (listed in jdpop.health)"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from core.health import bounded_count

from .models import Dispute


def health_dispute_deadlines() -> dict:
    """Disputes still awaiting the merchant or the consumer, or an accepted plan's promise still
    pending, although the deadline passed more than JDPOP_JOB_STALE_AFTER ago: the deadline job
    is not running (or failing). Three short range scans of the partial deadline indexes, each
    stopping at `COUNT_UP_TO` rows."""
    grace = settings.JDPOP_JOB_STALE_AFTER
    cutoff = timezone.now() - grace
    disputes = Dispute.objects.for_system()
    merchant = bounded_count(disputes.merchant_overdue(cutoff))
    consumer = bounded_count(disputes.consumer_overdue(cutoff))
    promises = bounded_count(disputes.promise_overdue(cutoff))
    return {
        "ok": merchant == 0 and consumer == 0 and promises == 0,
        "merchant_past_due": merchant,
        "consumer_past_due": consumer,
        "promises_past_due": promises,
        "grace_seconds": grace.total_seconds(),
    }
