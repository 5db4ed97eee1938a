"""Several writes of one outcome sent to the database as one statement.

Each write is made with the ORM (the fields of a row to update, a new row to insert) and
compiled, not run, when it is added; `send()` runs them all. On PostgreSQL they go as one
statement of data-modifying WITH queries: one round trip, one parse and plan, all or
nothing like any statement. Elsewhere (SQLite in development) the same compiled writes run
one after another, in the caller's transaction, with the same effect.

Every part of one PostgreSQL statement sees the database as it was before the statement,
not the other parts' effects: each write must stand on its own, so no two may touch the
same row, and an UPDATE's new values are computed from the row as it was (`F("n") + 1`
counts exactly, under the caller's row lock).
"""

from collections.abc import Callable

from django.db import connections, models
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery, UpdateQuery


class WriteBatch:
    def __init__(self, using: str = "default"):
        self.using = using
        self._writes: list[tuple[str, list]] = []
        # For each INSERT, in order: its row, and what to do once it is written.
        self._inserted: list[tuple[int, models.Model, Callable | None]] = []

    def __len__(self) -> int:
        return len(self._writes)

    def update(self, model: type[models.Model], pk, **values) -> None:
        """UPDATE the row `pk` of `model` with `values` (plain values or expressions)."""
        query = UpdateQuery(model)
        query.add_update_values(values)
        query.add_filter("pk", pk)
        self._add(*query.get_compiler(self.using).as_sql())

    def update_fields(self, row: models.Model, fields) -> None:
        """What row.save(update_fields=fields) would write."""
        meta = row._meta
        self.update(
            type(row),
            row.pk,
            **{name: getattr(row, meta.get_field(name).attname) for name in fields},
        )

    def insert(
        self,
        row: models.Model,
        *,
        ignore_conflicts: bool = False,
        then: Callable[[models.Model], None] | None = None,
    ) -> None:
        """INSERT `row` (its primary key is set once sent). With `ignore_conflicts`, a row
        a unique constraint refuses is skipped and its primary key stays None. `then(row)`
        runs once the batch has been sent."""
        meta = row._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        query = InsertQuery(type(row), on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
        query.insert_values(fields, [row])
        [(sql, params)] = query.get_compiler(self.using).as_sql()
        pk_column = connections[self.using].ops.quote_name(meta.pk.column)
        self._inserted.append((len(self._writes), row, then))
        self._add(f"{sql} RETURNING {pk_column}", params)

    def send(self) -> None:
        """Run every write added, then the `then` of each insert; the batch is empty after."""
        connection = connections[self.using]
        returned: dict[int, object] = {}
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and len(self._writes) > 1:
                parts = ", ".join(f"write{n} AS ({sql})" for n, (sql, _) in enumerate(self._writes))
                returning = [n for n, _row, _then in self._inserted] or [None]
                selected = ", ".join(
                    # Names made here, never from input.
                    "NULL" if n is None else f"(SELECT * FROM write{n})"  # noqa: S608
                    for n in returning
                )
                params = [param for _sql, write_params in self._writes for param in write_params]
                cursor.execute(f"WITH {parts} SELECT {selected}", params)  # noqa: S608
                returned = dict(zip(returning, cursor.fetchone(), strict=True))
            else:
                inserts = {n for n, _row, _then in self._inserted}
                for n, (sql, params) in enumerate(self._writes):
                    cursor.execute(sql, params)
                    if n in inserts:
                        row = cursor.fetchone()
                        returned[n] = row[0] if row else None
        inserted, self._writes, self._inserted = self._inserted, [], []
        for n, row, then in inserted:
            row.pk = returned.get(n)
            if row.pk is not None:
                row._state.adding = False
            if then is not None:
                then(row)

    def _add(self, sql: str, params) -> None:
        self._writes.append((sql, list(params)))
