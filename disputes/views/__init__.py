"""Pages for disputes (spec 5, 6): the consumer's dispute section on the invoice detail page,
their list and dispute page; the merchant's dispute list (complaint workbench) and the answer
page with the five plans. Thin: scope through `disputes.selectors`, call `disputes.services`,
render. Another consumer's or another shop's dispute is a 404, the same as a missing one; a
viewer's write is refused by the services (403)."""

from .card import CONSUMER, MERCHANT, dispute_card
from .consumer import (
    my_dispute_accept,
    my_dispute_detail,
    my_dispute_open,
    my_dispute_reject,
    my_dispute_reopen,
    my_dispute_withdraw,
    my_disputes,
)
from .evidence import (
    evidence_file,
    merchant_evidence_add,
    merchant_evidence_remove,
    merchant_evidence_submit,
    my_evidence_add,
    my_evidence_remove,
    my_evidence_submit,
)
from .merchant import merchant_dispute_answer, merchant_dispute_detail, merchant_disputes

__all__ = [
    "CONSUMER",
    "MERCHANT",
    "dispute_card",
    "evidence_file",
    "merchant_dispute_answer",
    "merchant_dispute_detail",
    "merchant_disputes",
    "merchant_evidence_add",
    "merchant_evidence_remove",
    "merchant_evidence_submit",
    "my_dispute_accept",
    "my_dispute_detail",
    "my_dispute_open",
    "my_dispute_reject",
    "my_dispute_reopen",
    "my_dispute_withdraw",
    "my_disputes",
    "my_evidence_add",
    "my_evidence_remove",
    "my_evidence_submit",
]
