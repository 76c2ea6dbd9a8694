"""Evidence on both sides (spec 5): drafts added and removed, then submitted once; the files
downloaded by whoever may see them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.auth import UploadThrottle, throttled
from core.pages import form_post, press
from core.uploads import serve_upload

from .. import selectors, services
from ..forms import EvidenceForm
from ..models import Evidence
from .card import CONSUMER, MERCHANT, get_dispute
from .page import back_to_dispute, dispute_button, render_again


def _evidence_add(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    dispute = get_dispute(request, pk, side)
    form = EvidenceForm(request.POST, request.FILES)
    return form_post(
        request,
        form,
        lambda data: services.dispute_evidence_add(
            dispute=dispute, by=request.user, text=data["text"], file=data["file"]
        ),
        success=_("Evidence added to your draft. Submit it when complete."),
        done=back_to_dispute(request, pk, side),
        failed=render_again(request, pk, side, evidence_form=form),
    )


def _evidence_remove(request: HttpRequest, pk: int, evidence_pk: int, side: str) -> HttpResponse:
    dispute = get_dispute(request, pk, side)
    visible = selectors.evidence_for(side, user=request.user, dispute=dispute)
    evidence = get_object_or_404(visible.select_related("dispute"), pk=evidence_pk)
    press(
        request,
        lambda: services.dispute_evidence_remove(evidence=evidence, by=request.user),
        _("The draft evidence was removed."),
    )
    return redirect(back_to_dispute(request, pk, side))


def _evidence_submit(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    return dispute_button(
        request,
        pk,
        side,
        lambda dispute: services.dispute_evidence_submit(dispute=dispute, by=request.user),
        _("Your evidence was submitted. It can no longer be changed."),
    )


@login_required
@require_POST
@throttled(UploadThrottle)
def my_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_add(request, pk, CONSUMER)


@login_required
@require_POST
def my_evidence_remove(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    return _evidence_remove(request, pk, evidence_pk, CONSUMER)


@login_required
@require_POST
def my_evidence_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_submit(request, pk, CONSUMER)


@login_required
@require_POST
@throttled(UploadThrottle)
def merchant_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_add(request, pk, MERCHANT)


@login_required
@require_POST
def merchant_evidence_remove(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    return _evidence_remove(request, pk, evidence_pk, MERCHANT)


@login_required
@require_POST
def merchant_evidence_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_submit(request, pk, MERCHANT)


@login_required
def evidence_file(request: HttpRequest, pk: int) -> FileResponse:
    """An evidence file, for whoever may see that evidence (its side, or both once submitted),
    under a generated name (never the uploader's)."""
    visible = Evidence.objects.for_consumer(request.user) | Evidence.objects.for_merchant(
        request.user
    )
    evidence = get_object_or_404(visible, pk=pk)
    return serve_upload(evidence.file.name, download_as=f"evidence-{evidence.pk}")
