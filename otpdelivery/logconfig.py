"""The logging configuration shared by Django, the Celery worker and beat, and gunicorn.

`LOG_FORMAT=json` writes one JSON object per line (python-json-logger) for a log
collector; `text` is for people reading a terminal. Either way nothing secret is logged:
the code services never pass a code to a logger, and the raw request object Django
attaches to its records (headers, cookies) is left out of the JSON.
"""

from pythonjsonlogger.core import RESERVED_ATTRS

LOG_FORMATS = ("text", "json")

# Django's request and server loggers attach the whole request (cookies, headers) as an
# extra attribute; a JSON formatter would print all of its repr, so it is never written.
_NEVER_WRITTEN = ["request"]


def logging_config(*, log_format: str, level: str, gunicorn: bool = False) -> dict:
    """A dictConfig for `log_format` ("text" or "json"), every record on stderr/stdout."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    formatters = {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC, whatever the process's time zone.
            "timestamp": "time",
            "reserved_attrs": [*RESERVED_ATTRS, *_NEVER_WRITTEN],
        },
    }
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {log_format: formatters[log_format]},
        "filters": {
            # Masks anything code-like in every record, whichever logger it came from.
            "redact_codes": {"()": "otpdelivery.redaction.RedactCodesFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["redact_codes"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {},
    }
    if not gunicorn:
        # Error reports to ADMINS (empty: none are sent), built by the reporter that masks
        # codes (DEFAULT_EXCEPTION_REPORTER). This replaces Django's default handlers for
        # its loggers, whose mail handler would not mask codes; records still propagate
        # to the root's console. (gunicorn's master has no Django; its workers set up
        # Django, and with it this configuration, themselves.)
        config["filters"]["require_debug_false"] = {"()": "django.utils.log.RequireDebugFalse"}
        config["handlers"]["mail_admins"] = {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_codes"],
        }
        config["loggers"]["django"] = {"handlers": ["mail_admins"], "level": level}
        # Requests refused as suspicious (a bogus Host header, a lookup the admin does not
        # allow, too many fields) are anyone's to send, as many as they like: logged, but
        # never an email per request.
        config["loggers"]["django.security"] = {
            "handlers": ["console"],
            "level": level,
            "propagate": False,
        }
        # runserver's request lines, through the masking console instead of Django's own.
        config["loggers"]["django.server"] = {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        }
    if gunicorn:
        # gunicorn replaces these loggers' configuration wholesale; they must not also
        # propagate to the root, or every line would be written twice.
        config["loggers"] = {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        }
    return config
