"""Print a development .env with fresh random keys (stdlib only: runs before any install)."""

import base64
import os
import secrets


def fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


print(f"""# Made by `make .env` for development on this machine. Never commit it.
DJANGO_DEBUG=true
DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}
DELIVERY_CODE_ENCRYPTION_KEYS={fernet_key()}
DELIVERY_CODE_HASH_KEY={secrets.token_urlsafe(32)}
METRICS_TOKEN={secrets.token_urlsafe(32)}
# Development and the demo only: webhooks may go to http:// and loopback addresses.
WEBHOOK_ALLOW_PRIVATE_URLS=true""")
