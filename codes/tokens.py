"""The delivery code itself: how one is drawn, normalised, stored and checked.

Modelled on django.contrib.auth.tokens: keys are read lazily from settings, the checks
never raise on bad input, and comparisons run in constant time. Nothing here touches the
database; codes/services.py does.
"""

import hashlib
import hmac
import re
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

CODE_LENGTH = 6
_SIX_ASCII_DIGITS = re.compile(r"[0-9]{6}", re.ASCII)
# Longer input is malformed whatever it holds; no need to look through 10 kB of it.
_MAX_INPUT_LENGTH = 64
# What may stand between the digits, and nothing else (README, "Typing a code"): the
# spaces and dashes people type, or phones and word processors put in, when a code is
# read out or copied in two groups. Any other character, controls and line or paragraph
# separators included (whatever Python calls whitespace), makes the entry malformed.
SEPARATORS = {
    "\u0020": "space",
    "\u00a0": "no-break space",
    "\u2007": "figure space",
    "\u2008": "punctuation space",
    "\u2009": "thin space",
    "\u200a": "hair space",
    "\u202f": "narrow no-break space",
    "\u3000": "ideographic space",
    "\u002d": "hyphen-minus",
    "\u2010": "hyphen",
    "\u2011": "non-breaking hyphen",
    "\u2012": "figure dash",
    "\u2013": "en dash",
    "\u2014": "em dash",
    "\u2212": "minus sign",
}


def _is_run(code: str, step: int) -> bool:
    return all((int(b) - int(a)) % 10 == step for a, b in zip(code, code[1:], strict=False))


def is_trivial(code: str) -> bool:
    """All one digit, or a run up or down (wrapping 9→0, so 890123 and 210987 count too)."""
    return _is_run(code, 0) or _is_run(code, 1) or _is_run(code, 9)


def generate_code() -> str:
    """Six digits from the OS's secure source, leading zeros kept, never a trivial one."""
    while True:
        code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
        if not is_trivial(code):
            return code


def normalize(raw: object) -> str | None:
    """The six ASCII digits the person meant, or None when the input is malformed.

    The characters in SEPARATORS are ignored wherever they stand. Anything else that is
    not an ASCII digit, including digits of other scripts, full-width digits, tabs, NULs
    and other control characters, makes the input malformed, as does empty input: the
    code is compared digit by digit and we never guess what such input meant.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_INPUT_LENGTH:
        return None
    kept = "".join(ch for ch in raw if ch not in SEPARATORS)
    if _SIX_ASCII_DIGITS.fullmatch(kept) is None:
        return None
    return kept


def group_for_reading(code: str) -> str:
    """'123456' → '123 456', the way a customer reads it to the courier."""
    return f"{code[:3]} {code[3:]}"


# --- Storage: a keyed hash for checking, encryption for showing to the customer -----------


def code_hash(code: str) -> str:
    """HMAC-SHA256 of the code under DELIVERY_CODE_HASH_KEY: a dump alone cannot invert it."""
    key = settings.DELIVERY_CODE_HASH_KEY.encode()
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def code_matches(code: str, stored_hash: str) -> bool:
    # Constant time, so response timing does not tell how many leading characters matched.
    return hmac.compare_digest(code_hash(code), stored_hash)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current_fernet() -> MultiFernet:
    # Read at call time, so key rotation in settings (and tests) takes effect at once.
    return _fernet(tuple(settings.DELIVERY_CODE_ENCRYPTION_KEYS))


def encrypt(code: str) -> str:
    return _current_fernet().encrypt(code.encode("ascii")).decode("ascii")


def decrypt(token: str) -> str | None:
    """The plain code, or None if no configured key opens the token."""
    try:
        return _current_fernet().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        return None
