from django.urls import path

from . import views

urlpatterns = [
    path("merchant/tickets/", views.workbench, name="ticket-workbench"),
    path("merchant/tickets/<int:pk>/", views.merchant_ticket_detail, name="merchant-ticket"),
    path(
        "merchant/tickets/<int:pk>/reply", views.merchant_ticket_reply, name="merchant-ticket-reply"
    ),
    path("my/invoices/<int:pk>/urge", views.my_invoice_urge, name="my-invoice-urge"),
    path("my/tickets/<int:pk>/", views.my_ticket_detail, name="my-ticket"),
    path(
        "tickets/replies/<int:pk>/attachment",
        views.reply_attachment,
        name="ticket-reply-attachment",
    ),
]
