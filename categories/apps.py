from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CategoriesConfig(AppConfig):
    """Category operations (类目运营, spec 13): categories of shops, their operators, tiers by
    sales, monthly targets. Beside notifications, above penalties: it reads orders (invoices)
    and the scorecard (penalties); nothing below imports it."""

    name = "categories"
    verbose_name = _("Category operations")
    domain = True

    def ready(self) -> None:
        from core.jobs import register

        register(
            "roll_up_category_sales",
            "categories.jobs.roll_up_category_sales",
            task="categories.roll_up_category_sales",
            help="Roll up every shop's sales of the closed China months (category pages).",
        )
