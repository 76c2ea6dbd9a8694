from rest_framework.routers import DefaultRouter

from .api import ConsumerInvoiceRequestViewSet, MerchantInvoiceRequestViewSet

router = DefaultRouter()
router.register(
    "merchant/invoice-requests", MerchantInvoiceRequestViewSet, basename="merchant-invoice-request"
)
router.register(
    "consumer/invoice-requests", ConsumerInvoiceRequestViewSet, basename="consumer-invoice-request"
)

urlpatterns = router.urls
