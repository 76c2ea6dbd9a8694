"""Evidence on both sides (spec 5): drafts added and removed, then submitted once; the files
downloaded by whoever may see them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import next_or, press, submit
from core.uploads import serve_upload

from .. import selectors, services
from ..forms import EvidenceForm
from ..models import Evidence
from .card import CONSUMER, MERCHANT, get_dispute
from .consumer import render_my_dispute
from .merchant import render_merchant_dispute

PAGES = {
    CONSUMER: (render_my_dispute, "my-dispute"),
    MERCHANT: (render_merchant_dispute, "merchant-dispute"),
}


def _evidence_add(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    render_page, url_name = PAGES[side]
    dispute = get_dispute(request, pk, side)
    form = EvidenceForm(request.POST, request.FILES)
    sent = submit(
        form,
        lambda data: services.dispute_evidence_add(
            dispute=dispute, by=request.user, text=data["text"], file=data["file"]
        ),
    )
    if sent.ok:
        messages.success(request, _("Evidence added to your draft. Submit it when complete."))
        return redirect(next_or(request, reverse(url_name, args=[pk])))
    dispute = get_dispute(request, pk, side)
    return render_page(request, dispute, status=sent.status, evidence_form=form)


def _evidence_remove(request: HttpRequest, pk: int, evidence_pk: int, side: str) -> HttpResponse:
    dispute = get_dispute(request, pk, side)
    visible = selectors.evidence_for(side, user=request.user, dispute=dispute)
    evidence = get_object_or_404(visible.select_related("dispute"), pk=evidence_pk)
    press(
        request,
        lambda: services.dispute_evidence_remove(evidence=evidence, by=request.user),
        _("The draft evidence was removed."),
    )
    return redirect(next_or(request, reverse(PAGES[side][1], args=[pk])))


def _evidence_submit(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    dispute = get_dispute(request, pk, side)
    press(
        request,
        lambda: services.dispute_evidence_submit(dispute=dispute, by=request.user),
        _("Your evidence was submitted. It can no longer be changed."),
    )
    return redirect(next_or(request, reverse(PAGES[side][1], args=[pk])))


@login_required
@require_POST
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
