from django.urls import path

from . import views

urlpatterns = [
    path("categories/", views.category_list, name="category-list"),
    path("categories/<int:pk>/", views.category_detail, name="category-detail"),
    path("categories/<int:pk>/plan", views.category_plan, name="category-plan"),
    path("categories/<int:pk>/export.<str:fmt>", views.category_export, name="category-export"),
    path("categories/<int:pk>/shops/<int:shop_pk>/", views.category_shop, name="category-shop"),
]
