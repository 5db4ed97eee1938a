"""Which columns hold secrets, so that no admin page filters, sorts or searches on them.

A column is secret when its model declares it in `secret_fields` (a class attribute,
e.g. `secret_fields = ("code_hash", "code_encrypted")`) or when its name says it is one
(the naming rule below): a model added later is covered by declaring its fields, or by
naming them as the rule expects, without touching the admin.
"""

import re

from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

# Names that hold secret material whatever model they are on: passwords, keyed hashes,
# ciphertexts, API keys, webhook secrets, sign-in link tokens.
SECRET_NAME = re.compile(
    r"(^|_)(password|secret|hash|digest|encrypted|ciphertext|token|nonce|salt|signature)$"
)


def is_secret_field(model, name: str) -> bool:
    return name in getattr(model, "secret_fields", ()) or SECRET_NAME.search(name) is not None


def lookup_touches_secret(model, lookup: str) -> bool:
    """Whether a query-string lookup (`code__code_hash__startswith`, `-code_hash`)
    reaches a secret column of `model` or of any model it follows a relation to."""
    for part in lookup.lstrip("-").split(LOOKUP_SEP):
        if is_secret_field(model, part):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            # A lookup or transform (startswith, year, ...): the path ends here.
            return False
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False
