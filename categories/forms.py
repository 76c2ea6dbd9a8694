"""The operator's plan form: the growth, and a target for each 重点 and A shop (pre-filled)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import Overview


def target_field(shop_id: int) -> str:
    return f"target_{shop_id}"


class PlanForm(forms.Form):
    growth_percent = forms.DecimalField(
        label=_("Growth over last month (%)"), max_digits=8, decimal_places=2
    )

    def __init__(self, *args, overview: Overview, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.overview = overview
        self.fields["growth_percent"].initial = overview.growth_percent
        self.lines = [line for line in overview.lines if line.operator_sets]
        for line in self.lines:
            self.fields[target_field(line.shop.pk)] = forms.DecimalField(
                label=_("Target of %(shop)s") % {"shop": line.shop.name},
                max_digits=14,
                decimal_places=2,
                min_value=0,
                initial=line.target,
                required=False,  # the page shows some of the shops: the others keep theirs
            )

    def growth(self) -> Decimal:
        return self.cleaned_data["growth_percent"] / 100

    def targets(self) -> dict[int, Decimal]:
        """The targets sent (the shops of the page that was shown)."""
        sent = (
            (line.shop.pk, self.cleaned_data.get(target_field(line.shop.pk))) for line in self.lines
        )
        return {shop: amount for shop, amount in sent if amount is not None}

    def rows(self, lines):
        """(line, bound field or None) for each of `lines`, for the table."""
        return [
            (line, self[target_field(line.shop.pk)] if line.operator_sets else None)
            for line in lines
        ]
