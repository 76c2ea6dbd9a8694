"""The REST API's router (`/api/v1/`): the site wires every app's viewsets here, so that no
app needs to know the others' (spec 12: the API and the pages call the same services)."""

from rest_framework.routers import DefaultRouter

from disputes.api import ConsumerDisputeViewSet, MerchantDisputeViewSet
from invoices.api import ConsumerInvoiceRequestViewSet, MerchantInvoiceRequestViewSet
from notifications.api import NotificationViewSet
from tickets.api import ConsumerTicketViewSet, ConsumerUrgeViewSet, MerchantTicketViewSet

router = DefaultRouter()
router.register(
    "merchant/invoice-requests", MerchantInvoiceRequestViewSet, basename="merchant-invoice-request"
)
router.register(
    "consumer/invoice-requests", ConsumerInvoiceRequestViewSet, basename="consumer-invoice-request"
)
# Urge tickets (spec 4): the merchant's workbench and replies, the consumer's tickets and 催开票.
router.register("merchant/tickets", MerchantTicketViewSet, basename="merchant-urge-ticket")
router.register("consumer/tickets", ConsumerTicketViewSet, basename="consumer-urge-ticket")
router.register("consumer/invoice-requests", ConsumerUrgeViewSet, basename="consumer-urge")
# Disputes (spec 5): the consumer's disputes (open, accept, reject), the merchant's answers.
router.register("my/disputes", ConsumerDisputeViewSet, basename="api-consumer-dispute")
router.register("merchant/disputes", MerchantDisputeViewSet, basename="api-merchant-dispute")
# The inbox (spec 10), for merchant staff and consumers alike.
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = router.urls
