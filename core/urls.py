from django.urls import path

from . import views

urlpatterns = [
    path("merchant/shops/", views.my_shops, name="my-shops"),
    path("merchant/shops/<int:pk>/staff/", views.shop_staff, name="shop-staff"),
    path(
        "merchant/shops/<int:pk>/staff/<int:user_pk>/remove",
        views.shop_staff_remove_view,
        name="shop-staff-remove",
    ),
    path("account/tokens/<int:pk>/revoke", views.api_token_revoke_view, name="api-token-revoke"),
]
