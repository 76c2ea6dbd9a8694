"""Spec 5: evidence is staged as a draft, then submitted once."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Evidence
from tests.factories import UserFactory, merchant_of

from .conftest import pdf
from .factories import dispute_in

pytestmark = pytest.mark.django_db


def test_a_draft_with_a_file_is_checked_stored_and_removable(
    dispute, owner, django_capture_on_commit_callbacks
):
    # given the merchant adds a PDF and a note as drafts
    with_file = services.dispute_evidence_add(dispute=dispute, by=owner, text="发票", file=pdf())
    note = services.dispute_evidence_add(dispute=dispute, by=owner, text="聊天记录")
    assert (with_file.party, with_file.is_draft, with_file.content_type) == (
        "merchant",
        True,
        "application/pdf",
    )
    assert default_storage.exists(with_file.file.name)
    # when the merchant removes the file draft before submitting
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_evidence_remove(evidence=with_file, by=owner)
    # then it is gone (the file once the transaction commits) and all, and the note remains
    assert list(Evidence.objects.for_system().values_list("pk", flat=True)) == [note.pk]
    assert not default_storage.exists(with_file.file.name)


def test_a_file_is_judged_by_its_content(dispute, owner):
    fake = SimpleUploadedFile(
        "evidence.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    with pytest.raises(ValidationError) as e:
        services.dispute_evidence_add(dispute=dispute, by=owner, file=fake)
    assert "file" in e.value.error_dict
    assert not Evidence.objects.for_system().exists()


def test_empty_evidence_is_refused(dispute, owner):
    with pytest.raises(ValidationError):
        services.dispute_evidence_add(dispute=dispute, by=owner, text="  ")


def test_submit_once_then_a_second_submission_is_a_conflict(dispute, owner):
    # given two drafts of the merchant and one of the consumer
    services.dispute_evidence_add(dispute=dispute, by=owner, text="一")
    services.dispute_evidence_add(dispute=dispute, by=owner, text="二")
    services.dispute_evidence_add(dispute=dispute, by=dispute.consumer, text="消费者")
    # when the merchant submits
    assert services.dispute_evidence_submit(dispute=dispute, by=owner) == 2
    # then the merchant's drafts are submitted, the consumer's are still drafts
    assert {(e.party, e.is_draft) for e in Evidence.objects.for_system().all()} == {
        ("merchant", False),
        ("consumer", True),
    }
    entry = HistoryEntry.objects.for_system().get(subject="dispute", subject_id=dispute.pk)
    assert (entry.action, entry.data["party"]) == ("evidence_submitted", "merchant")
    # and a second submission, or a new draft, or removing a submitted one, is a Conflict
    with pytest.raises(Conflict):
        services.dispute_evidence_submit(dispute=dispute, by=owner)
    with pytest.raises(Conflict):
        services.dispute_evidence_add(dispute=dispute, by=owner, text="三")
    with pytest.raises(Conflict):
        services.dispute_evidence_remove(evidence=Evidence.objects.for_system().first(), by=owner)
    assert Evidence.objects.for_system().count() == 3
    assert (
        HistoryEntry.objects.for_system().filter(subject="dispute", subject_id=dispute.pk).count()
        == 1
    )


def test_submitting_nothing_is_refused_and_leaves_submission_open(dispute, owner):
    with pytest.raises(ValidationError):
        services.dispute_evidence_submit(dispute=dispute, by=owner)
    services.dispute_evidence_add(dispute=dispute, by=owner, text="补充")
    assert services.dispute_evidence_submit(dispute=dispute, by=owner) == 1


def test_no_evidence_on_a_closed_dispute():
    d = dispute_in("closed")
    with pytest.raises(Conflict):
        services.dispute_evidence_add(dispute=d, by=d.consumer, text="晚了")


def test_strangers_add_nothing_and_sides_remove_only_their_own(dispute, owner):
    with pytest.raises(PermissionDenied):
        services.dispute_evidence_add(dispute=dispute, by=UserFactory(), text="x")
    with pytest.raises(PermissionDenied):
        services.dispute_evidence_add(
            dispute=dispute, by=merchant_of(dispute.shop, "viewer"), text="x"
        )
    mine = services.dispute_evidence_add(dispute=dispute, by=owner, text="商家的")
    with pytest.raises(PermissionDenied):
        services.dispute_evidence_remove(evidence=mine, by=dispute.consumer)
    assert Evidence.objects.for_system().filter(pk=mine.pk).exists()
