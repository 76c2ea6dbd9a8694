"""The production topology in docker-compose.yml and the Dockerfile (read, never run here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_the_five_services_exist(services):
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)


def test_each_service_runs_the_right_entry_point(services):
    assert command(services["web"]).startswith("gunicorn jdpop.wsgi")
    assert "0.0.0.0:8000" in command(services["web"])
    assert command(services["worker"]).startswith("celery -A jdpop worker")
    assert command(services["beat"]).startswith("celery -A jdpop beat")
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert command(services["redis"]).startswith("redis-server")


def test_the_schema_is_migrated_before_the_app_starts(services):
    migrations = [
        name for name, s in services.items() if "manage.py migrate --noinput" in command(s)
    ]
    assert migrations, "no service runs the migrations"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        if name not in migrations:
            assert any(
                depends.get(m, {}).get("condition") == "service_completed_successfully"
                for m in migrations
            ), name


def test_redis_keeps_an_append_only_file_on_a_volume(services):
    redis = services["redis"]
    assert "--appendonly yes" in command(redis)
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])


def test_the_database_has_a_volume_and_a_health_check(services):
    db = services["db"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_web_and_worker_have_health_checks(services):
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in web and "urllib" in web
    worker = " ".join(services["worker"]["healthcheck"]["test"])
    assert "celery -A jdpop inspect ping" in worker


def test_the_app_is_configured_from_the_environment(services):
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert env["DATABASE_URL"].startswith("postgres://jdpop:${POSTGRES_PASSWORD:?")
        assert env["DATABASE_URL"].endswith("@db:5432/jdpop")
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_MEDIA_ROOT"] == "/data/media"
        assert {"DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "EMAIL_URL"} <= set(env)
        assert "DJANGO_DEBUG" not in env
        assert any(v.endswith(":/data/media") for v in services[name]["volumes"])


def test_the_image_runs_gunicorn_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "\nUSER " in dockerfile and "\nUSER root" not in dockerfile
    assert "collectstatic" in dockerfile
    assert "pip install" in dockerfile
    assert 'CMD ["gunicorn", "jdpop.wsgi", "--bind", "0.0.0.0:8000"' in dockerfile
    # The build-time secret key is set for the collectstatic step only, never baked in.
    assert "ENV DJANGO_SECRET_KEY" not in dockerfile


def test_the_e_mails_go_to_mailpit_unless_told_otherwise(services):
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert any(p.endswith(":8025") for p in services["mailpit"]["ports"])
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["EMAIL_URL"] == "${EMAIL_URL:-smtp://mailpit:1025}"
