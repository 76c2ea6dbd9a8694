from django.contrib.admin.apps import AdminConfig


class JdpopAdminConfig(AdminConfig):
    """The Django admin, as the platform arbitrators' workplace (see jdpop.admin)."""

    default_site = "jdpop.admin.ArbitratorAdminSite"
