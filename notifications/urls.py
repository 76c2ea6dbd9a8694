from django.urls import path

from . import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open", views.inbox_open, name="inbox-open"),
    path("inbox/read-all", views.inbox_read_all, name="inbox-read-all"),
    path("inbox/settings/", views.notification_settings, name="notification-settings"),
    path("merchant/shops/<int:pk>/webhooks/", views.webhooks, name="webhooks"),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/",
        views.webhook_detail,
        name="webhook-detail",
    ),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/rotate",
        views.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/enable",
        views.webhook_enable,
        name="webhook-enable",
    ),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/disable",
        views.webhook_disable,
        name="webhook-disable",
    ),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/delete",
        views.webhook_delete,
        name="webhook-delete",
    ),
    path(
        "merchant/shops/<int:pk>/webhooks/<int:endpoint_pk>/deliveries/<int:delivery_pk>/resend",
        views.webhook_resend,
        name="webhook-resend",
    ),
]
