from __future__ import annotations

from collections.abc import Iterator

import pytest

from .receivers import Receiver, start_receiver


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A local receiver, and the settings that let an endpoint point at it (a loopback
    address over plain http, refused in production)."""
    settings.JDPOP_WEBHOOK_ALLOW_PRIVATE = True
    settings.JDPOP_WEBHOOK_TIMEOUT_SECONDS = 0.5
    found = start_receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()
