"""Append-only tables, enforced by PostgreSQL (spec 9: nothing is ever lost or rewritten).

A table is described once (`AppendOnly`: which UPDATEs and DELETEs are refused) and a migration
installs its triggers with `append_only_operation`. TRUNCATE is refused too, except on a
connection that set `jdpop.allow_truncate = on` (the test runner's flush between tests does;
nothing else should). On SQLite, the embedded first-use database, the models' own guards apply
(their `save`, `delete` and queryset methods refuse), not triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import migrations

FUNCTION = "jdpop_append_only"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('jdpop.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
DROP_FUNCTION = f"DROP FUNCTION IF EXISTS {FUNCTION}();"


@dataclass(frozen=True)
class AppendOnly:
    """`table` refuses every UPDATE for which `update_refused_when` holds (SQL over OLD and
    NEW), every DELETE for which `delete_refused_when` holds (over OLD), and TRUNCATE."""

    table: str
    update_refused_when: str = "true"
    delete_refused_when: str = "true"

    def create_sql(self) -> str:
        t = self.table
        return f"""
CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} FOR EACH ROW
    WHEN ({self.update_refused_when}) EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} FOR EACH ROW
    WHEN ({self.delete_refused_when}) EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT
    EXECUTE FUNCTION {FUNCTION}();
"""

    def drop_sql(self) -> str:
        t = self.table
        return "\n".join(
            f"DROP TRIGGER IF EXISTS {t}_{what} ON {t};"
            for what in ("no_update", "no_delete", "no_truncate")
        )


def _on_postgres(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no params: the % in RAISE is literal

    return run


def function_operation() -> migrations.RunPython:
    """The trigger function every append-only table shares (core's first migration)."""
    return migrations.RunPython(_on_postgres(CREATE_FUNCTION), _on_postgres(DROP_FUNCTION))


def append_only_operation(rule: AppendOnly) -> migrations.RunPython:
    """The migration operation that installs (or, backwards, removes) `rule`'s triggers."""
    return migrations.RunPython(_on_postgres(rule.create_sql()), _on_postgres(rule.drop_sql()))
