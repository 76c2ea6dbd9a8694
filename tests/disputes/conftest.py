"""Shared fixtures for the dispute tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from core.roles import ARBITRATOR_GROUP
from tests.factories import PDF_BYTES, UserFactory, merchant_of

from .factories import DisputeFactory


@pytest.fixture
def dispute():
    """A refused-invoice dispute awaiting the merchant (new flow)."""
    return DisputeFactory()


@pytest.fixture
def owner(dispute):
    """An owner of the dispute's shop."""
    return merchant_of(dispute.shop)


@pytest.fixture
def arbitrator():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    return user


def pdf(name: str = "chat.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")
