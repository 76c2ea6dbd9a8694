# Issue 14, item 5: the opening job's queue moves out of the request row. Marking the wide
# request row (ticket_opened_at, in the predicate of the partial index ir_ticket_due_idx) wrote
# a new row version and an entry in each of the table's indexes for every ticket opened, about
# a third of the job's time. The queue is now a narrow table of its own, kept by the database
# as it keeps an index (the triggers below), and the job deletes the rows it takes.
#
# Its rows: every pending request with an overdue instant (`overdue_at`) whose ticket the job
# has not opened yet; `due_at` is that instant. The triggers keep it whoever writes a request:
# a new request with an instant joins (PostgreSQL: one set-based INSERT per statement, from its
# transition table, so a bulk INSERT or COPY adds its rows at once); a change of `state` or
# `overdue_at` moves, adds or removes the request's row. Backfilled from the old mark (the
# requests that already have a ticket leave it in tickets 0008_perf_due_queue_backfill).

import django.db.models.deletion
from django.db import migrations, models

REQUEST = "invoices_invoicerequest"
QUEUE = "invoices_duerequest"

POSTGRES = [
    f"""
    CREATE FUNCTION invoices_due_queue_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {QUEUE} (request_id, due_at)
        SELECT id, overdue_at FROM new_requests
        WHERE state = 'pending' AND overdue_at IS NOT NULL;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER invoices_due_queue_insert AFTER INSERT ON {REQUEST}
    REFERENCING NEW TABLE AS new_requests
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_due_queue_insert()
    """,
    f"""
    CREATE FUNCTION invoices_due_queue_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state = 'pending' AND NEW.overdue_at IS NOT NULL THEN
            INSERT INTO {QUEUE} (request_id, due_at) VALUES (NEW.id, NEW.overdue_at)
            ON CONFLICT (request_id) DO UPDATE SET due_at = EXCLUDED.due_at;
        ELSE
            DELETE FROM {QUEUE} WHERE request_id = NEW.id;
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER invoices_due_queue_update AFTER UPDATE OF state, overdue_at ON {REQUEST}
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.overdue_at IS DISTINCT FROM NEW.overdue_at)
    EXECUTE FUNCTION invoices_due_queue_update()
    """,
    # A small table with many deletes: vacuum it early, so that an idle run's index range
    # holds no dead entries for long.
    f"ALTER TABLE {QUEUE} SET (autovacuum_vacuum_scale_factor = 0.01, "
    "autovacuum_vacuum_threshold = 1000)",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS invoices_due_queue_update ON {REQUEST}",
    "DROP FUNCTION IF EXISTS invoices_due_queue_update()",
    f"DROP TRIGGER IF EXISTS invoices_due_queue_insert ON {REQUEST}",
    "DROP FUNCTION IF EXISTS invoices_due_queue_insert()",
]
SQLITE = [
    f"""
    CREATE TRIGGER invoices_due_queue_insert AFTER INSERT ON {REQUEST} FOR EACH ROW
    WHEN NEW.state = 'pending' AND NEW.overdue_at IS NOT NULL
    BEGIN
        INSERT INTO {QUEUE} (request_id, due_at) VALUES (NEW.id, NEW.overdue_at);
    END
    """,
    f"""
    CREATE TRIGGER invoices_due_queue_update AFTER UPDATE OF state, overdue_at ON {REQUEST}
    FOR EACH ROW
    WHEN OLD.state IS NOT NEW.state OR OLD.overdue_at IS NOT NEW.overdue_at
    BEGIN
        DELETE FROM {QUEUE} WHERE request_id = NEW.id;
        INSERT INTO {QUEUE} (request_id, due_at) SELECT NEW.id, NEW.overdue_at
        WHERE NEW.state = 'pending' AND NEW.overdue_at IS NOT NULL;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS invoices_due_queue_update",
    "DROP TRIGGER IF EXISTS invoices_due_queue_insert",
]


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # No request may be written between this snapshot and the triggers below (the whole
        # migration is one transaction): writes wait for it, reads do not.
        schema_editor.execute(f"LOCK TABLE {REQUEST} IN SHARE ROW EXCLUSIVE MODE")
    schema_editor.execute(
        f"INSERT INTO {QUEUE} (request_id, due_at) SELECT id, overdue_at FROM {REQUEST} "
        "WHERE state = 'pending' AND overdue_at IS NOT NULL AND ticket_opened_at IS NULL"
    )


def unfill(apps, schema_editor):
    schema_editor.execute(
        f"UPDATE {REQUEST} SET ticket_opened_at = overdue_at WHERE state = 'pending' "
        f"AND overdue_at IS NOT NULL AND id NOT IN (SELECT request_id FROM {QUEUE})"
    )


def add_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRES_DROP if postgres else SQLITE_DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0096_perf_request_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="DueRequest",
            fields=[
                (
                    "request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="due",
                        serialize=False,
                        to="invoices.invoicerequest",
                        verbose_name="invoice request",
                    ),
                ),
                ("due_at", models.DateTimeField(verbose_name="overdue after")),
            ],
            options={
                "verbose_name": "request due for an urge ticket",
                "verbose_name_plural": "requests due for an urge ticket",
            },
        ),
        migrations.AddIndex(
            model_name="duerequest",
            index=models.Index(fields=["due_at", "request"], name="ir_due_queue_idx"),
        ),
        migrations.RunPython(backfill, unfill, elidable=False),
        migrations.RemoveIndex(model_name="invoicerequest", name="ir_ticket_due_idx"),
        migrations.RemoveField(model_name="invoicerequest", name="ticket_opened_at"),
        migrations.RunPython(add_triggers, drop_triggers, elidable=False),
    ]
