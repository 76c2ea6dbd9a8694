"""The dispute fixtures (a dispute, its shop's owner, an arbitrator) serve the penalty tests."""

from tests.disputes.conftest import arbitrator, dispute, owner  # noqa: F401
