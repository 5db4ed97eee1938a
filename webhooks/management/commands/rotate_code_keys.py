"""Re-encrypt what DELIVERY_CODE_ENCRYPTION_KEYS protect under the newest key, after a key
rotation: the codes still in use and the signing secrets of the retailers' webhook endpoints.

Rotation (SECURITY.md): put a new key first in DELIVERY_CODE_ENCRYPTION_KEYS, keeping the
old ones after it, deploy, run this command, then remove the old keys. With --rehash it
also recomputes the codes' check hashes under the current DELIVERY_CODE_HASH_KEY (run it at
once after deploying a new hash key; until it has run, entries of existing codes fail).
Neither codes nor secrets are ever printed.

It lives in `webhooks`, the lowest app that knows both (webhooks may call codes, never the
other way round).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from codes.services import code_reencrypt_active
from webhooks.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt active and locked delivery codes and webhook signing secrets under the "
        "newest encryption key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rehash",
            action="store_true",
            help="Also recompute each code's check hash under DELIVERY_CODE_HASH_KEY.",
        )

    def handle(self, *args, rehash: bool, **options):
        with transaction.atomic():
            codes_done, codes_unreadable = code_reencrypt_active(rehash=rehash)
            secrets_done, secrets_unreadable = webhook_secrets_reencrypt()
        if codes_unreadable or secrets_unreadable:
            raise CommandError(
                f"{codes_unreadable} code(s) and {secrets_unreadable} webhook secret(s) could "
                f"not be decrypted with any configured key; {codes_done} code(s) and "
                f"{secrets_done} secret(s) re-encrypted. Put the old key back after the new "
                "one and run again."
            )
        self.stdout.write(
            f"{codes_done} code(s) and {secrets_done} webhook secret(s) re-encrypted under the "
            "newest key."
        )
