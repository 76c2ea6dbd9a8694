"""Evidence (spec 5): staged as drafts, then submitted once per side.

Submitting is a conditional UPDATE of the dispute's `<side>_evidence_submitted_at` from NULL,
so a second submission (or one racing the first) is a Conflict. Adding a draft locks the same
dispute row first, so a draft cannot slip in beside a submission.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.text import text_field
from core.uploads import check_upload, saved_upload

from ..models import Dispute, Evidence
from ._common import dispute_history, party_of

TEXT_MAX = 4000
SUBMITTED_FIELD = {
    Evidence.Party.MERCHANT: "merchant_evidence_submitted_at",
    Evidence.Party.CONSUMER: "consumer_evidence_submitted_at",
}


def dispute_evidence_add(
    *,
    dispute: Dispute,
    by: AbstractBaseUser,
    text: str = "",
    file: File | None = None,
) -> Evidence:
    """Add a draft piece of evidence (text and/or a PDF, OFD or image file) for `by`'s side,
    while the dispute is open and that side has not submitted yet."""
    party = party_of(dispute, by)
    errors: dict[str, list] = {}
    text = text_field({"text": text}, "text", errors, max_length=TEXT_MAX)
    if not text and file is None and not errors:
        errors["text"] = [_("Write something or attach a file.")]
    detected = check_upload(file, errors, "file")
    if errors:
        raise ValidationError(errors)
    with saved_upload(file, detected, folder=f"disputes/{dispute.pk}") as name:
        with transaction.atomic():
            still_open = (
                Dispute.objects.for_system()
                .select_for_update()
                .filter(pk=dispute.pk, **{f"{SUBMITTED_FIELD[party]}__isnull": True})
                .exclude(state=Dispute.State.CLOSED)
                .exists()
            )
            if not still_open:
                raise Conflict(
                    "evidence_closed",
                    _("Evidence can no longer be added: it was submitted or the dispute closed."),
                )
            return Evidence.objects.create(
                dispute=dispute,
                party=party,
                author=by,
                text=text,
                file=name,
                file_name=(getattr(file, "name", "") or "")[:200] if name else "",
                content_type=detected.content_type if detected else "",
            )


def dispute_evidence_remove(*, evidence: Evidence, by: AbstractBaseUser) -> None:
    """Remove a draft of one's own side; submitted evidence stays forever."""
    party = party_of(evidence.dispute, by)
    if party != evidence.party:
        raise PermissionDenied(_("This evidence belongs to the other side."))
    with transaction.atomic():
        deleted, _detail = (
            Evidence.objects.for_system().filter(pk=evidence.pk, submitted_at__isnull=True).delete()
        )
        if not deleted:
            raise Conflict("evidence_submitted", _("Submitted evidence cannot be removed."))
        if evidence.file:
            name = evidence.file.name
            transaction.on_commit(lambda: default_storage.delete(name))


def submit_in_transaction(
    dispute: Dispute, *, party: str, by: AbstractBaseUser, at: datetime
) -> int:
    """Submit `party`'s drafts once (no permission check: for callers that did theirs)."""
    field = SUBMITTED_FIELD[party]
    updated = (
        Dispute.objects.for_system()
        .filter(pk=dispute.pk, **{f"{field}__isnull": True})
        .exclude(state=Dispute.State.CLOSED)
        .update(**{field: at})
    )
    if not updated:
        raise Conflict(
            "evidence_submitted",
            _("This side's evidence was already submitted, or the dispute is closed."),
        )
    evidence = Evidence.objects.for_system()
    ids = list(
        evidence.filter(dispute=dispute, party=party, submitted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    evidence.filter(pk__in=ids).update(submitted_at=at)
    dispute_history(
        dispute,
        by=by,
        action="evidence_submitted",
        state_from=dispute.state,
        state_to=dispute.state,
        data={"party": party, "evidence_ids": ids},
        at=at,
    )
    setattr(dispute, field, at)
    return len(ids)


def dispute_evidence_submit(*, dispute: Dispute, by: AbstractBaseUser) -> int:
    """Submit all of `by`'s side's drafts, once; returns how many were submitted."""
    party = party_of(dispute, by)
    try:
        with transaction.atomic():
            count = submit_in_transaction(dispute, party=party, by=by, at=timezone.now())
            if not count:  # rolls the submission back: nothing was staged
                raise ValidationError({"evidence": [_("Add evidence before submitting it.")]})
    except ValidationError:
        setattr(dispute, SUBMITTED_FIELD[party], None)
        raise
    return count
