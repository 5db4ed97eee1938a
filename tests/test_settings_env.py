"""Settings read from the environment (issue 11, item 2): list and structured values are
trimmed, and an unusable one stops the start with an error naming the variable."""

import runpy
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from gunicorn.config import Config

BASE_DIR = Path(__file__).resolve().parent.parent


def _load_settings(monkeypatch, **environment) -> dict:
    """The settings module's names as it computes them from this environment."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "otpdelivery" / "settings.py"))


def test_spaces_in_allowed_hosts_still_let_the_host_in(monkeypatch, client, settings):
    loaded = _load_settings(monkeypatch, DJANGO_ALLOWED_HOSTS="127.0.0.1, localhost")
    settings.ALLOWED_HOSTS = loaded["ALLOWED_HOSTS"]

    response = client.get(reverse("login"), HTTP_HOST="localhost")

    assert response.status_code == 200
    assert loaded["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]


def test_spaces_in_csrf_trusted_origins_are_trimmed(monkeypatch):
    loaded = _load_settings(
        monkeypatch,
        DJANGO_CSRF_TRUSTED_ORIGINS=" https://otp.example.com , https://*.example.org/ ,",
    )

    assert loaded["CSRF_TRUSTED_ORIGINS"] == ["https://otp.example.com", "https://*.example.org"]


@pytest.mark.parametrize(
    ("name", "value", "expected_setting", "expected"),
    [
        ("DELIVERY_WORKING_DAYS", " 1, 2 ,3,3 ", "DELIVERY_WORKING_DAYS", [1, 2, 3]),
        ("DJANGO_ADMINS", "ops@example.com , Ops <on-call@example.com>", "ADMINS", None),
        ("DJANGO_HTTPS", " TRUE ", "HTTPS", True),
        ("DJANGO_DEBUG", "off", "DEBUG", False),
        ("LOG_LEVEL", " warning", "LOG_LEVEL", "WARNING"),
        ("SITE_URL", "https://otp.example.com/ ", "SITE_URL", "https://otp.example.com"),
        ("DJANGO_TRUSTED_PROXY_COUNT", " 1 ", "TRUSTED_PROXY_COUNT", 1),
    ],
)
def test_values_are_trimmed(monkeypatch, name, value, expected_setting, expected):
    loaded = _load_settings(monkeypatch, **{name: value})

    if expected is None:
        expected = ["ops@example.com", "Ops <on-call@example.com>"]
    assert loaded[expected_setting] == expected


def test_several_encryption_keys_with_spaces_are_trimmed(monkeypatch):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    loaded = _load_settings(monkeypatch, DELIVERY_CODE_ENCRYPTION_KEYS=f"{first} , {second}")

    assert loaded["DELIVERY_CODE_ENCRYPTION_KEYS"] == [first, second]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_ALLOWED_HOSTS", "https://otp.example.com"),
        ("DJANGO_ALLOWED_HOSTS", "otp.example.com:443"),
        ("DJANGO_ALLOWED_HOSTS", "otp.example.com/path"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "otp.example.com"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "https://otp.example.com/admin/"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "ftp://otp.example.com"),
        ("DJANGO_ADMINS", "ops@example.com, not an address"),
        ("SERVER_EMAIL", "errors"),
        ("DEFAULT_FROM_EMAIL", "otpdelivery"),
        ("DELIVERY_WORKING_DAYS", "1,2,8"),
        ("DELIVERY_WORKING_DAYS", "mon,tue"),
        ("DELIVERY_WORKING_DAYS", ","),
        ("DJANGO_HTTPS", "ture"),
        ("DJANGO_DEBUG", "maybe"),
        ("DELIVERY_TIME_ZONE", "Europe/Roma"),
        ("DELIVERY_TIME_ZONE", "../etc"),
        ("SITE_URL", "otp.example.com"),
        ("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("DELIVERY_CODE_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("DELIVERY_CODE_ENCRYPTION_KEYS", " , "),
        ("SECURE_DELIVERY_THRESHOLD_EUR", "300,00"),
        ("SECURE_DELIVERY_THRESHOLD_EUR", "-1"),
        ("CODE_MAX_WRONG_ATTEMPTS", "five"),
        ("CODE_MAX_WRONG_ATTEMPTS", "0"),
        ("DJANGO_TRUSTED_PROXY_COUNT", "-1"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_unusable_value_stops_the_start_naming_the_variable(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured) as error:
        _load_settings(monkeypatch, **{name: value})

    assert str(error.value).startswith(f"{name}: ")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgress://user:s3cret-password@db.example.com/otp"),
        ("DATABASE_URL", "postgres://user:s3cret-password@db.example.com:port/otp"),
        ("EMAIL_URL", "smpt://user:s3cret-password@smtp.example.com:587"),
        ("EMAIL_URL", "smtp://user:s3cret-password@smtp.example.com:port"),
    ],
)
def test_unusable_url_is_named_without_repeating_its_password(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured) as error:
        _load_settings(monkeypatch, **{name: value})

    assert str(error.value).startswith(f"{name}: ")
    assert "s3cret" not in str(error.value)


def _gunicorn_config(monkeypatch, **environment) -> Config:
    """gunicorn.conf.py as gunicorn itself takes it in: each setting it knows set through
    its own validators (what `gunicorn -c gunicorn.conf.py` does before it starts), so that
    a value of the wrong type fails here as it would stop the start."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loaded = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    config = Config()
    for name, value in loaded.items():
        if name in config.settings:
            config.set(name.lower(), value)
    config.validate()
    return config


def test_gunicorn_takes_its_settings_file_as_it_is(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.delenv("GUNICORN_BIND", raising=False)

    config = _gunicorn_config(monkeypatch)

    assert config.forwarded_allow_ips == ["127.0.0.1"]
    assert config.address == [("127.0.0.1", 8000)]
    assert config.wsgi_app == "otpdelivery.wsgi:application"


def test_gunicorn_opens_no_control_socket(monkeypatch):
    config = _gunicorn_config(monkeypatch)

    assert config.control_socket_disable is True


def test_gunicorn_lists_are_trimmed(monkeypatch):
    config = _gunicorn_config(
        monkeypatch,
        FORWARDED_ALLOW_IPS="127.0.0.1, 10.0.0.0/8",
        GUNICORN_BIND="127.0.0.1:8000, unix:/run/otp.sock",
    )

    assert config.forwarded_allow_ips == ["127.0.0.1", "10.0.0.0/8"]
    assert config.bind == ["127.0.0.1:8000", "unix:/run/otp.sock"]
