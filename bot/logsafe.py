"""Logging without personal data or secrets.

Logs are read by more people and kept longer than the database, so they carry no user keys, names,
phone numbers or message texts: a line that must tell users apart uses `pseudonym(user_key)`, stable
within one run only. The Bot API token travels in Telegram's URLs; httpx logs every request URL at INFO,
so its logger is raised to WARNING, and a filter masks anything shaped like a token that still gets
through (an exception message quoting a URL).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

_SALT = secrets.token_bytes(16)  # new each run: pseudonyms cannot be matched to users across runs
_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,12}:[A-Za-z0-9_-]{30,}")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("httpx", "httpcore", "aiohttp.access")


def pseudonym(user_key: str | int | None) -> str:
    """A short stand-in for a user key in log lines: the same user reads the same within this run."""
    if user_key is None:
        return "-"
    return "u" + hashlib.sha256(_SALT + str(user_key).encode("utf-8")).hexdigest()[:10]


def redact(text: str) -> str:
    return _TOKEN.sub("<token>", text)


class RedactSecrets(logging.Filter):
    """Masks bot tokens in a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def configure(level: int = logging.INFO) -> None:
    """The running bot's logging: one stream handler, no URL-per-request loggers, tokens masked."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
