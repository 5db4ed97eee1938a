"""Helpers for the few reads written in SQL on hot paths: the columns of joined models in
one SELECT, and the model instances made back from a row, as the ORM's select_related
would make them."""

from django.db import connection, models


def columns(joined: list[tuple[str, type[models.Model]]]) -> str:
    """`alias.column, …` for every concrete field of each (alias, model), in order."""
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}"
        for alias, model in joined
        for field in model._meta.concrete_fields
    )


def instances(joined: list[tuple[str, type[models.Model]]], values) -> list[models.Model | None]:
    """One instance per (alias, model), read from the iterator `values` in the order of
    columns(joined); None for a model a LEFT JOIN found no row of (its key is NULL)."""
    made = []
    for _alias, model in joined:
        fields = model._meta.concrete_fields
        row = [next(values) for _field in fields]
        primary_key = row[fields.index(model._meta.pk)]
        made.append(
            None
            if primary_key is None
            else model.from_db(connection.alias, [field.attname for field in fields], row)
        )
    return made
