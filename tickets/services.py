"""Writes for urge tickets (spec 4)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser


def ticket_answer_by_upload(*, invoice_request, by: AbstractBaseUser, at: datetime) -> None:
    """Uploading the invoice answers the request's open urge ticket as 已开发票 (spec 4.3).

    No-op until urge tickets exist.
    """
