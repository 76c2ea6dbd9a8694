"""The admin site is the arbitrators' workplace (spec 1): only they get in."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext_lazy as _


class ArbitratorAdminSite(admin.AdminSite):
    """Active staff in the arbitrator group, and superusers; merchant staff and consumers never,
    even if someone ticked `is_staff` for them."""

    site_header = _("jdpop platform arbitration")
    site_title = _("jdpop arbitration")
    index_title = _("Disputes, penalties and gray release")

    def has_permission(self, request: HttpRequest) -> bool:
        from core.roles import is_arbitrator

        return is_arbitrator(request.user)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("scorecard/", self.admin_view(self.scorecard_view), name="scorecard"),
            *super().get_urls(),
        ]

    def scorecard_view(self, request: HttpRequest) -> HttpResponse:
        """The shop scorecard (spec 8), see penalties.scorecard."""
        from penalties.scorecard import scorecard_admin_view

        return scorecard_admin_view(request, site=self)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The index and the sidebar list the scorecard like a model of its own."""
        app_list = super().get_app_list(request, app_label)
        if app_label is None:
            url = reverse("admin:scorecard", current_app=self.name)
            entry = {
                "name": _("店铺评分卡 Shop scorecard"),
                "object_name": "Scorecard",
                "perms": {},
                "admin_url": url,
                "add_url": None,
                "view_only": True,
            }
            app_list.append(
                {
                    "name": _("报表 Reports"),
                    "app_label": "scorecard",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [entry],
                }
            )
        return app_list
