"""The penalty's dispute link is the tickets app's second migration, after the disputes app's."""

from __future__ import annotations

from django.db.migrations.loader import MigrationLoader


def test_the_penalty_dispute_migration_depends_on_the_disputes_app():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    migration = loader.disk_migrations[("tickets", "0002_penalty_dispute")]
    assert ("disputes", "0001_initial") in migration.dependencies
    disputes_initial = loader.disk_migrations[("disputes", "0001_initial")]
    assert not [d for d in disputes_initial.dependencies if d[0] == "tickets"]
