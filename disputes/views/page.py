"""A dispute's page, the same for both sides: render it with that side's forms, render it again
after a failed form, go back to it after a post, and press one of its buttons."""

from __future__ import annotations

from collections.abc import Callable

from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core.pages import next_or, press
from core.roles import can_write_for_shop

from ..forms import AnswerForm, EvidenceForm, RejectForm, plan_requirements
from ..models import Dispute
from .card import CONSUMER, MERCHANT, dispute_card, get_dispute

URL_NAMES = {CONSUMER: "my-dispute", MERCHANT: "merchant-dispute"}


def render_dispute(
    request: HttpRequest, dispute: Dispute, side: str, *, status: int = 200, **forms: Form
) -> HttpResponse:
    """The dispute's page for `side`, with that side's forms: blank, or the failed one given
    (with its errors) by name."""
    context = {
        "c": dispute_card(dispute, user=request.user, side=side),
        "r": dispute.request,
        "evidence_form": EvidenceForm(),
    }
    if side == MERCHANT:
        template = "disputes/merchant_dispute.html"
        context.update(
            can_write=can_write_for_shop(request.user, dispute.shop_id),
            form=AnswerForm(),
            requirements=plan_requirements(),
        )
    else:
        template = "disputes/my_dispute.html"
        context.update(reject_form=RejectForm())
    return render(request, template, {**context, **forms}, status=status)


def render_again(
    request: HttpRequest, pk: int, side: str, **forms: Form
) -> Callable[[int], HttpResponse]:
    """`form_post`'s `failed` on a dispute's page: the dispute read afresh (it may have moved
    meanwhile, e.g. after a conflict), with the failed form."""
    return lambda status: render_dispute(
        request, get_dispute(request, pk, side), side, status=status, **forms
    )


def back_to_dispute(request: HttpRequest, pk: int, side: str) -> str:
    """Where a post on a dispute goes back to: the page it was sent from, else the dispute's."""
    return next_or(request, reverse(URL_NAMES[side], args=[pk]))


def dispute_button(
    request: HttpRequest,
    pk: int,
    side: str,
    action: Callable[[Dispute], object],
    success: str,
) -> HttpResponse:
    """A button on a dispute (no form): `action(dispute)` with a message, then back."""
    dispute = get_dispute(request, pk, side)
    press(request, lambda: action(dispute), success)
    return redirect(back_to_dispute(request, pk, side))
