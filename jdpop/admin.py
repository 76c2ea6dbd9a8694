"""The admin site is the arbitrators' workplace (spec 1): only they get in."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class ArbitratorAdminSite(admin.AdminSite):
    """Active staff in the arbitrator group, and superusers; merchant staff and consumers never,
    even if someone ticked `is_staff` for them."""

    site_header = _("jdpop platform arbitration")
    site_title = _("jdpop arbitration")
    index_title = _("Disputes, penalties and gray release")

    def has_permission(self, request: HttpRequest) -> bool:
        from invoices.roles import is_arbitrator

        return is_arbitrator(request.user)
