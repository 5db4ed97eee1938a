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

A write of plain values is compiled once per process for its shape (the model, the fields,
which values are NULL) and only its values are made ready for the database on each call,
as the ORM's compiler would (`get_db_prep_save`, and `pre_save` for a new row); a write
with an expression is compiled every time. tests/test_writes.py checks that both give the
same SQL and parameters.
"""

from collections.abc import Callable

from django.db import connections, models
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery, UpdateQuery

# Compiled SQL of plain-value writes, by shape. A few dozen shapes at most: the services'
# writes are fixed in the code.
_COMPILED: dict[tuple, str] = {}


def _is_plain(value) -> bool:
    """A value that goes into the SQL as a parameter: not an expression, not a row."""
    return not any(
        hasattr(value, name) for name in ("resolve_expression", "as_sql", "prepare_database_save")
    )


def _takes_plain(fields) -> bool:
    """Whether each field's value goes into the SQL as one %s (no field of its own SQL)."""
    return not any(hasattr(field, "get_placeholder_sql") for field in fields)


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
        meta = model._meta
        fields = [meta.get_field(name) for name in values]
        shape = None
        if all(map(_is_plain, values.values())) and _takes_plain(fields) and not meta.parents:
            shape = ("update", model, self.using, tuple(values))
        if shape in _COMPILED:
            connection = connections[self.using]
            params = [
                field.get_db_prep_save(value, connection=connection)
                for field, value in zip(fields, values.values(), strict=True)
            ]
            params.append(meta.pk.get_db_prep_value(pk, connection))
            self._add(_COMPILED[shape], params)
            return
        query = UpdateQuery(model)
        query.add_update_values(values)
        query.add_filter("pk", pk)
        sql, params = query.get_compiler(self.using).as_sql()
        if shape is not None:
            _COMPILED[shape] = sql
        self._add(sql, params)

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
        self._inserted.append((len(self._writes), row, then))
        shape = ("insert", type(row), self.using, ignore_conflicts)
        if shape in _COMPILED:
            values = [field.pre_save(row, add=True) for field in fields]
            if all(map(_is_plain, values)):
                connection = connections[self.using]
                params = [
                    field.get_db_prep_save(value, connection=connection)
                    for field, value in zip(fields, values, strict=True)
                ]
                self._add(_COMPILED[shape], params)
                return
        query = InsertQuery(type(row), on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
        query.insert_values(fields, [row])
        [(sql, params)] = query.get_compiler(self.using).as_sql()
        sql = f"{sql} RETURNING {connections[self.using].ops.quote_name(meta.pk.column)}"
        if _takes_plain(fields) and all(_is_plain(getattr(row, f.attname)) for f in fields):
            _COMPILED[shape] = sql
        self._add(sql, params)

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
