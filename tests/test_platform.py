"""The platform around the domain: /healthz, production settings, the API schema."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["database"]["ok"] and response.json()["broker"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env={**clean, **env},
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="jdpop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_the_openapi_schema_renders(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200 and b"invoice-requests" in response.content


def test_the_env_file_make_run_writes_lets_commands_run_as_pasted(tmp_path):
    """After `make run` (which writes .env), `.venv/bin/python manage.py ...` needs nothing
    else in the environment; without the file, production rules apply."""
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=1\n")
    assert _manage("check", JDPOP_ENV_FILE=str(env_file)).returncode == 0
    missing = _manage("check", JDPOP_ENV_FILE=str(tmp_path / "none"))
    assert missing.returncode != 0 and "DJANGO_SECRET_KEY" in missing.stderr
