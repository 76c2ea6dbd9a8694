"""Orders and invoice requests, scoped by role through `core.scoping` (fails closed)."""

from __future__ import annotations

from datetime import datetime

from core.scoping import ScopedQuerySet


class OrderQuerySet(ScopedQuerySet):
    pass


class InvoiceRequestQuerySet(ScopedQuerySet):
    def overdue(self, now: datetime) -> InvoiceRequestQuerySet:
        """Pending requests strictly past their overdue instant (spec 4.1)."""
        from .overdue import overdue_q

        return self.filter(overdue_q(now))
