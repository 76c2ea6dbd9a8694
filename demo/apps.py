from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`): on the top floor, it may use every app's services."""

    name = "demo"
    verbose_name = "Demo data"
