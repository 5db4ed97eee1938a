"""Re-encrypt the codes still in use under the newest key, after a key rotation.

Rotation (SECURITY.md): put a new key first in DELIVERY_CODE_ENCRYPTION_KEYS, keeping the
old ones after it, deploy, run this command, then remove the old keys. With --rehash it
also recomputes the check hashes under the current DELIVERY_CODE_HASH_KEY (run it at once
after deploying a new hash key; until it has run, entries of existing codes fail).
The codes are never printed.
"""

from django.core.management.base import BaseCommand, CommandError

from codes.services import code_reencrypt_active


class Command(BaseCommand):
    help = "Re-encrypt active and locked delivery codes under the newest encryption key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rehash",
            action="store_true",
            help="Also recompute each code's check hash under DELIVERY_CODE_HASH_KEY.",
        )

    def handle(self, *args, rehash: bool, **options):
        done, unreadable = code_reencrypt_active(rehash=rehash)
        if unreadable:
            raise CommandError(
                f"{unreadable} code(s) could not be decrypted with any configured key; "
                f"{done} re-encrypted. Put the old key back after the new one and run again."
            )
        self.stdout.write(f"{done} code(s) re-encrypted under the newest key.")
