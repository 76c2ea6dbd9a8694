from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .dashboard.views import merchant_dashboard
from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("jdpop.api")),
    path("merchant/", merchant_dashboard, name="merchant-dashboard"),
    path("", include("core.urls")),
    path("", include("disputes.urls")),
    path("", include("invoices.urls")),
    path("", include("tickets.urls")),
    path("", include("notifications.urls")),
    path("", include("categories.urls")),
]

# An unknown path under /api/ is a 404 in the API's error shape (core.errors).
handler404 = "core.errors.page_not_found"
