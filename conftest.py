"""Project-wide pytest setup.

Tests marked `postgres` need PostgreSQL (locks, triggers, concurrent transactions). On the
embedded SQLite default they are deselected (and counted in the header); `.ci/run` runs the
suite a second time on PostgreSQL, where they run and a missing server is a failure.
"""

from __future__ import annotations

import pytest
from django.conf import settings


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_report_header(config) -> list[str]:
    db = settings.DATABASES["default"]
    return [
        f"jdpop: database {db['ENGINE'].rsplit('.', 1)[-1]}, broker "
        f"{settings.CELERY_BROKER_URL.split('://', 1)[0]}"
    ]


def pytest_collection_modifyitems(config, items) -> None:
    if _on_postgres():
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """Between transactional tests the runner empties every table with TRUNCATE, which the
    append-only tables refuse (core.appendonly) unless the connection says it is allowed: the
    test connections say so. A test that checks the refusal turns it off for itself."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        options = db.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jdpop.allow_truncate=on".strip()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Uploaded files go to a per-test folder; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    cache.clear()  # throttle counts start afresh in every test


def pytest_sessionstart(session) -> None:
    """In CI (JDPOP_REQUIRE_SERVICES=1) the run must be on PostgreSQL with a Redis broker."""
    import os

    if os.environ.get("JDPOP_REQUIRE_SERVICES") != "1":
        return
    if not _on_postgres():
        raise pytest.UsageError("JDPOP_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        raise pytest.UsageError("JDPOP_REQUIRE_SERVICES=1 but CELERY_BROKER_URL is not Redis")
