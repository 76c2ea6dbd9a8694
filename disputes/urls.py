from django.urls import path

from . import views

urlpatterns = [
    # consumer (发票详情页 → 纠纷)
    path("my/disputes/", views.my_disputes, name="my-disputes"),
    path("my/disputes/<int:pk>/", views.my_dispute_detail, name="my-dispute"),
    path("my/invoices/<int:pk>/dispute", views.my_dispute_open, name="my-dispute-open"),
    path("my/disputes/<int:pk>/accept", views.my_dispute_accept, name="my-dispute-accept"),
    path("my/disputes/<int:pk>/reject", views.my_dispute_reject, name="my-dispute-reject"),
    path("my/disputes/<int:pk>/withdraw", views.my_dispute_withdraw, name="my-dispute-withdraw"),
    path("my/disputes/<int:pk>/reopen", views.my_dispute_reopen, name="my-dispute-reopen"),
    path("my/disputes/<int:pk>/evidence", views.my_evidence_add, name="my-evidence-add"),
    path(
        "my/disputes/<int:pk>/evidence/<int:evidence_pk>/remove",
        views.my_evidence_remove,
        name="my-evidence-remove",
    ),
    path(
        "my/disputes/<int:pk>/evidence/submit", views.my_evidence_submit, name="my-evidence-submit"
    ),
    # merchant (投诉工作台 → 纠纷)
    path("merchant/disputes/", views.merchant_disputes, name="merchant-disputes"),
    path("merchant/disputes/<int:pk>/", views.merchant_dispute_detail, name="merchant-dispute"),
    path(
        "merchant/disputes/<int:pk>/answer",
        views.merchant_dispute_answer,
        name="merchant-dispute-answer",
    ),
    path(
        "merchant/disputes/<int:pk>/evidence",
        views.merchant_evidence_add,
        name="merchant-evidence-add",
    ),
    path(
        "merchant/disputes/<int:pk>/evidence/<int:evidence_pk>/remove",
        views.merchant_evidence_remove,
        name="merchant-evidence-remove",
    ),
    path(
        "merchant/disputes/<int:pk>/evidence/submit",
        views.merchant_evidence_submit,
        name="merchant-evidence-submit",
    ),
    # both sides
    path("disputes/evidence/<int:pk>/file", views.evidence_file, name="dispute-evidence-file"),
]
