"""Urge-invoice tickets (催开票工单, spec 4): built in the tickets issue."""
