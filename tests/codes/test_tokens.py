"""The code itself: format, trivial codes, normalisation, storage and key rotation."""

import re

import pytest
from cryptography.fernet import Fernet

from codes import tokens


def test_generated_codes_are_six_ascii_digits():
    for _ in range(2000):
        assert re.fullmatch(r"[0-9]{6}", tokens.generate_code(), re.ASCII)


def test_generated_codes_keep_leading_zeros(monkeypatch):
    draws = iter([42, 123456])
    monkeypatch.setattr(tokens.secrets, "randbelow", lambda _n: next(draws))

    assert tokens.generate_code() == "000042"


@pytest.mark.parametrize(
    "trivial",
    [
        "000000",
        "111111",
        "999999",
        "012345",
        "123456",
        "456789",
        "890123",
        "987654",
        "543210",
        "210987",
    ],
)
def test_trivial_codes_are_recognised(trivial):
    assert tokens.is_trivial(trivial)


@pytest.mark.parametrize("ordinary", ["000042", "135792", "112233", "123457", "909090"])
def test_ordinary_codes_are_not_trivial(ordinary):
    assert not tokens.is_trivial(ordinary)


def test_trivial_draws_are_thrown_away(monkeypatch):
    draws = iter([111111, 123456, 654321, 482913])
    monkeypatch.setattr(tokens.secrets, "randbelow", lambda _n: next(draws))

    assert tokens.generate_code() == "482913"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("482913", "482913"),
        ("482 913", "482913"),
        ("482-913", "482913"),
        ("  482913 ", "482913"),
        ("4 8 2 9 1 3", "482913"),
        ("482\u00a0913", "482913"),
        ("482\u2013913", "482913"),
        ("000042", "000042"),
    ],
)
def test_spaces_and_hyphens_are_ignored(typed, expected):
    assert tokens.normalize(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "١٢٣٤٥٦",  # Arabic-Indic digits
        "۱۲۳۴۵۶",  # Extended Arabic-Indic digits
        "१२३४५६",  # Devanagari digits
        "１２３４５６",  # full-width digits
        "12345",
        "1234567",
        "12a456",
        "",
        "   ",
        "12345\x00",
        "123.456",
        "+12345",
        "١23456",
        "1" * 10_000,
        "' OR 1=1 --",
        "<script>",
        "12345⁶",
    ],
)
def test_anything_but_six_ascii_digits_is_malformed(typed):
    assert tokens.normalize(typed) is None


@pytest.mark.parametrize("not_text", [None, 123456, b"123456", ["123456"]])
def test_non_text_input_is_malformed(not_text):
    assert tokens.normalize(not_text) is None


def test_code_hash_depends_on_the_hash_key(settings):
    first = tokens.code_hash("482913")
    settings.DELIVERY_CODE_HASH_KEY = "another-key"

    assert tokens.code_hash("482913") != first


def test_code_matches_only_its_own_hash():
    stored = tokens.code_hash("482913")

    assert tokens.code_matches("482913", stored)
    assert not tokens.code_matches("482914", stored)


def test_encrypted_code_does_not_contain_the_digits():
    token = tokens.encrypt("482913")

    assert "482913" not in token
    assert tokens.decrypt(token) == "482913"


def test_old_encryption_keys_still_decrypt_after_rotation(settings):
    old_key = settings.DELIVERY_CODE_ENCRYPTION_KEYS[0]
    token = tokens.encrypt("482913")
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    assert tokens.decrypt(token) == "482913"


def test_decrypt_returns_none_when_no_key_opens_the_token(settings):
    token = tokens.encrypt("482913")
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    assert tokens.decrypt(token) is None


def test_codes_are_grouped_for_reading_aloud():
    assert tokens.group_for_reading("012345") == "012 345"
