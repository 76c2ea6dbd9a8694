"""Demo data, the bulk loader: COPY on PostgreSQL (from a second thread), bulk_create elsewhere."""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

# --- the loader ------------------------------------------------------------------------------


def _escape(value: str) -> str:
    """A string as a value of PostgreSQL's COPY text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _copy_converter(model_field: models.Field) -> Callable[[Any], str]:
    """How one column's Python values are written in COPY text format."""
    internal = model_field.get_internal_type()
    if internal == "BooleanField":
        return lambda v: "t" if v else "f"
    if internal == "JSONField":
        return lambda v: _escape(json.dumps(v, ensure_ascii=False, cls=DjangoJSONEncoder))
    if internal == "DateTimeField":
        return lambda v: "\\N" if v is None else v.isoformat()
    if isinstance(model_field, models.CharField | models.TextField | models.FileField):
        return lambda v: "\\N" if v is None else _escape(v)
    return lambda v: "\\N" if v is None else str(v)


def _fill_defaults(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Give the columns the generator does not know of (a field added since) their default."""
    missing = [f for f in model._meta.concrete_fields if f.attname not in rows[0]]
    for f in missing:
        if not (f.has_default() or f.null):
            raise KeyError(f"{model.__name__}.{f.attname}: no value and no default")
        default = f.get_default()
        for row in rows:
            row[f.attname] = default


class Writer:
    """Inserts complete rows whose ids are chosen here, in Python.

    On PostgreSQL the tables are locked against other writers for the load, rows go in with
    COPY from a second thread (so that PostgreSQL works while Python makes the next batch), and
    the id sequences are moved past the new rows at the end. Elsewhere: bulk_create.
    """

    def __init__(self, batch_size: int, tables: list[type[models.Model]]):
        self.batch_size = batch_size
        self.models = tables
        self.copy = connection.vendor == "postgresql"
        self._next_id: dict[type[models.Model], int] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._sql: dict[type[models.Model], tuple[str, list]] = {}

    def start(self) -> None:
        """Lock the tables (PostgreSQL) and find the first free id of each; call it inside
        the transaction, after the last ORM insert into these tables."""
        with connection.cursor() as cursor:
            if self.copy:
                names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in self.models)
                cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
                # Check foreign keys as the rows arrive, while Python makes the next batch,
                # rather than all of them at once at COMMIT.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model in self.models:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT MAX(id) FROM {table}")
                first = (cursor.fetchone()[0] or 0) + 1
                if self.copy:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table]
                    )
                    first = max(first, cursor.fetchone()[0])
                self._next_id[model] = first
        if self.copy:
            connection.ensure_connection()
            raw = connection.connection
            self._thread = threading.Thread(
                target=self._copy_worker, args=(raw,), name="seed-demo-copy", daemon=True
            )
            self._thread.start()

    def _copy_worker(self, raw: Any) -> None:
        cursor = raw.cursor()
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    cursor.copy_expert(item[0], item[1], size=1 << 20)
                except BaseException as e:  # handed to the main thread
                    self._error = e

    def reserve_ids(self, model: type[models.Model], n: int) -> range:
        """`n` fresh ids for `model`."""
        start = self._next_id[model]
        self._next_id[model] = start + n
        return range(start, start + n)

    def insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        """Insert `rows`, dicts keyed by field attname, every concrete field given."""
        if not rows:
            return
        if not self.copy:
            model._default_manager.bulk_create(
                [model(**row) for row in rows], batch_size=self.batch_size
            )
            return
        if model not in self._sql:
            fields = model._meta.concrete_fields
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            table = connection.ops.quote_name(model._meta.db_table)
            self._sql[model] = (
                f"COPY {table} ({columns}) FROM STDIN",
                [(f.attname, _copy_converter(f)) for f in fields],
            )
        sql, columns = self._sql[model]
        _fill_defaults(model, rows)
        buf = io.StringIO()
        buf.write("".join(["\t".join([c(row[n]) for n, c in columns]) + "\n" for row in rows]))
        buf.seek(0)
        self._raise_copy_error()
        self._queue.put((sql, buf))

    def _raise_copy_error(self) -> None:
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop the COPY thread after a failure (the transaction is rolled back anyway)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Wait for the last COPY; then move the id sequences past the new rows."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            self._raise_copy_error()
            with connection.cursor() as cursor:
                for model in self.models:
                    last = self._next_id[model] - 1
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
                        [model._meta.db_table, max(last, 1), last >= 1],
                    )
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
