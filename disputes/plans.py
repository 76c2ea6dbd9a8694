"""The merchant's five answers to a refused-invoice dispute (spec 5), as data.

Each plan declares what it requires, so the service checks it and a form can show it before the
merchant sends. The first four are settlement plans (和解方案): the consumer accepts or rejects.
The fifth (无责举证方案) goes straight to the platform with the merchant's evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Plan(models.TextChoices):
    ISSUED = "issued", _("Invoice issued (已开发票)")
    NO_INVOICE_NEEDED = "no_invoice_needed", _("Agreed that no invoice is needed (已协商无需开票)")
    CANNOT_ISSUE = "cannot_issue", _("Cannot issue (无法开票)")
    ANOTHER_DATE = "another_date", _("Another issue date agreed (另行约定开票日期)")
    PLATFORM_JUDGE = (
        "platform_judge",
        _("Cannot settle; platform please judge (无法自主处理，需平台介入判责)"),
    )

    @classmethod
    def settlement_values(cls) -> list[str]:
        return [p for p, rule in PLAN_RULES.items() if rule.settlement]


@dataclass(frozen=True)
class PlanRule:
    """What a plan requires and where it sends the dispute."""

    settlement: bool  # True: the consumer decides; False: straight to the platform
    needs_date: bool = False  # an issue date, in the future (China time)
    needs_note: bool = False  # a note the consumer and the platform read
    needs_evidence: bool = False  # at least one piece of the merchant's evidence
    # 已开发票 is only true if the invoice is in the system: the disputed request was refused,
    # so this means a re-issue (补开) of it has been issued (or the request itself, if ever).
    needs_issued_invoice: bool = False


PLAN_RULES: dict[str, PlanRule] = {
    Plan.ISSUED: PlanRule(settlement=True, needs_issued_invoice=True),
    Plan.NO_INVOICE_NEEDED: PlanRule(settlement=True, needs_note=True),
    Plan.CANNOT_ISSUE: PlanRule(settlement=True, needs_note=True),
    Plan.ANOTHER_DATE: PlanRule(settlement=True, needs_date=True),
    Plan.PLATFORM_JUDGE: PlanRule(settlement=False, needs_note=True, needs_evidence=True),
}
