"""The REST API's router (`/api/v1/`): the site wires every app's viewsets here, so that no
app needs to know the others' (spec 12: the API and the pages call the same services)."""

from core.api_tokens import ApiTokenViewSet
from core.idempotency import IdempotentRouter
from disputes.api import ConsumerDisputeViewSet, MerchantDisputeViewSet
from invoices.api import ConsumerInvoiceRequestViewSet, MerchantInvoiceRequestViewSet
from invoices.feed_api import PlatformOrderFeedViewSet
from notifications.api import NotificationViewSet
from penalties.api import ShopViewSet
from tickets.api import ConsumerTicketViewSet, ConsumerUrgeViewSet, MerchantTicketViewSet

router = IdempotentRouter()  # every POST takes an Idempotency-Key (core.idempotency)
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
router.register("consumer/disputes", ConsumerDisputeViewSet, basename="api-consumer-dispute")
router.register("merchant/disputes", MerchantDisputeViewSet, basename="api-merchant-dispute")
# The inbox (spec 10), for merchant staff and consumers alike.
router.register("notifications", NotificationViewSet, basename="notification")
# The platform's order feed (spec 3, 12), for its service accounts only.
router.register("platform/orders", PlatformOrderFeedViewSet, basename="platform-order")
# The scorecard (spec 8) of one shop, for its staff and arbitrators.
router.register("shops", ShopViewSet, basename="api-shop")
# Tokens (issue 12): a user name and password for a token; the caller's tokens; revoke one.
router.register("auth/token", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
