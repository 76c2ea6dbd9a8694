"""`{% dispute_section side %}`: the request's disputes on an invoice detail page (spec 6),
without the invoices app's views having to know about disputes."""

from __future__ import annotations

from django import template
from django.utils import timezone

from .. import selectors
from ..forms import EvidenceForm, OpenDisputeForm, RejectForm
from ..models import Dispute
from ..views.card import CONSUMER, MERCHANT, dispute_card

register = template.Library()


@register.inclusion_tag("disputes/_section_body.html", takes_context=True)
def dispute_section(context: template.Context, side: str = "") -> dict:
    """The disputes of the page's request `r` for `side` ("consumer" or "merchant"), with
    their progress and, for the consumer, the buttons for the kinds that may be opened now."""
    r = context["r"]
    request = context["request"]
    user = request.user
    if side not in (CONSUMER, MERCHANT):
        side = CONSUMER if r.consumer_id == user.pk else MERCHANT
    now = timezone.now()
    if side == CONSUMER:
        qs = selectors.disputes_for_consumer(user=user)
        kinds = selectors.dispute_kinds_open_to(user=user, request=r, now=now)
    else:
        qs = selectors.disputes_for_merchant(user=user)
        kinds = []
    # The merchant's section only links to the dispute page, where the evidence is.
    cards = [
        dispute_card(d, user=user, side=side, now=now, with_evidence=side == CONSUMER)
        for d in qs.filter(request=r)
    ]
    return {
        "request": request,
        "r": r,
        "side": side,
        "cards": cards,
        "open_forms": [
            {
                "kind": kind,
                "label": Dispute.Kind(kind).label,
                "form": OpenDisputeForm(initial={"kind": kind}, auto_id=f"id_{kind}_%s"),
            }
            for kind in kinds
        ],
        "reject_form": RejectForm(),
        "evidence_form": EvidenceForm(),
        "next": request.get_full_path(),
        "now": now,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def whose_label(whose: str) -> str:
    """The label of a `Dispute.whose_move` value (merchant, consumer, platform, nobody)."""
    return str(Dispute.Whose(whose).label) if whose in Dispute.Whose.values else ""
