from django.urls import path

from . import bulk_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("merchant/requests/", views.merchant_requests, name="merchant-requests"),
    path("merchant/requests/<int:pk>/", views.merchant_request_detail, name="merchant-request"),
    path("merchant/requests/<int:pk>/issue", views.merchant_issue, name="merchant-issue"),
    path("merchant/requests/<int:pk>/refuse", views.merchant_refuse, name="merchant-refuse"),
    path("invoices/<int:pk>/file", views.invoice_download, name="invoice-download"),
    path("merchant/bulk/", bulk_views.merchant_bulk, name="merchant-bulk"),
    path("merchant/bulk/<int:pk>/", bulk_views.merchant_bulk_detail, name="merchant-bulk-detail"),
    path(
        "merchant/bulk/<int:pk>/progress",
        bulk_views.merchant_bulk_progress,
        name="merchant-bulk-progress",
    ),
    path("my/", views.my_invoices, name="my-invoices"),
    path("my/orders/<int:order_pk>/request", views.my_request_new, name="my-request-new"),
    path("my/invoices/<int:pk>/", views.my_invoice_detail, name="my-invoice"),
    path("my/invoices/<int:pk>/cancel", views.my_invoice_cancel, name="my-invoice-cancel"),
    path("my/invoices/<int:pk>/exchange", views.my_invoice_exchange, name="my-invoice-exchange"),
]
