"""Pages of the bulk upload (spec 11): the upload form with the shops' recent bulk uploads, one
upload's progress (a fragment the page polls with htmx until the run is over) and its report.
Thin: scope, call `invoices.bulk`, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.auth import UploadThrottle, throttled
from core.models import Shop, ShopMembership
from core.pages import form_post, paginate

from . import bulk
from .models import BulkUpload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One zip archive, or many invoice files at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        accept = ".zip,.pdf,.ofd,.xml,.png,.jpg,.jpeg"
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        single = super().clean  # (not inside the comprehension: no zero-argument super)
        return [single(f, initial) for f in files]


class BulkUploadForm(forms.Form):
    files = MultipleFileField(
        label=gettext_lazy("invoices"),
        help_text=gettext_lazy(
            "A zip archive of invoice files (PDF, OFD, XML, PNG, JPEG), or the files "
            "themselves; at most %(most)s at once."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["files"]
        field.help_text = field.help_text % {"most": settings.JDPOP_BULK_UPLOAD_MAX_FILES}


def _page(request: HttpRequest, form: BulkUploadForm, status: int = 200) -> HttpResponse:
    uploads = BulkUpload.objects.for_merchant(request.user).select_related("shop", "by")
    writable = Shop.objects.for_merchant(request.user, roles=ShopMembership.WRITERS)
    context = {
        "form": form,
        "page": paginate(request, uploads.defer("report")),
        "shops": writable.order_by("name"),
        "shop_id": request.POST.get("shop", ""),
        "most": settings.JDPOP_BULK_UPLOAD_MAX_FILES,
    }
    return render(request, "invoices/bulk_list.html", context, status=status)


@throttled(UploadThrottle)
def _upload(request: HttpRequest) -> HttpResponse:
    try:
        shop_id = int(request.POST.get("shop", ""))
    except ValueError:
        raise Http404 from None
    shop = get_object_or_404(Shop.objects.for_merchant(request.user), pk=shop_id)
    form = BulkUploadForm(request.POST, request.FILES)
    return form_post(
        request,
        form,
        lambda data: bulk.bulk_upload_create(shop=shop, by=request.user, files=data["files"]),
        success=_("The invoices were uploaded; they are being read and matched now."),
        done=lambda created: reverse("merchant-bulk-detail", args=[created.pk]),
        failed=lambda status: _page(request, form, status),
    )


@login_required
def merchant_bulk(request: HttpRequest) -> HttpResponse:
    """The upload form and the shops' recent bulk uploads; a POST uploads."""
    if request.method == "POST":
        return _upload(request)
    return _page(request, BulkUploadForm())


def _progress_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    b = get_object_or_404(
        BulkUpload.objects.for_merchant(request.user).select_related("shop", "by"), pk=pk
    )
    finished = b.state in (BulkUpload.State.DONE, BulkUpload.State.FAILED)
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in bulk.OUTCOMES else ""
    return {
        "b": b,
        "finished": finished,
        "percent": (100 * b.done // b.total) if b.total else (100 if finished else 0),
        "counts": bulk.outcome_counts(b),
        "outcome": outcome,
        "rows": bulk.report_rows(b, outcome) if finished else [],
    }


@login_required
def merchant_bulk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One bulk upload: its progress, then its report per file."""
    return render(request, "invoices/bulk_detail.html", _progress_context(request, pk))


@login_required
def merchant_bulk_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment the detail page polls (it stops once the run is over)."""
    return render(request, "invoices/_bulk_progress.html", _progress_context(request, pk))
