"""Credentials out of everything the project writes: one function, `redact`, for URLs and command lines.

A URL's user and password (`http://alice:pw@host` -> `http://***@host`) and the value of an API key
(`--api-key KEY`, `--api-key=KEY`, `api-key=`/`api_key=`/`apikey=` query parameters) become `***`.
Used wherever a location or a command line is shown or recorded (terminal, reports, metrics.json,
provenance, logs); importable without qdrant-client.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "***"
_USERINFO = re.compile(r"(?<=://)[^/?#\s]*@")
_KEY_OPTION = re.compile(r"(--api-key(?:=|\s+))(\S+)")
_KEY_PARAMETER = re.compile(r"([?&](?:api[-_]?key|token|password)=)[^&#\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` (a URL, a command line, a message) with every credential in it replaced by '***'."""
    text = _USERINFO.sub(f"{HIDDEN}@", text)
    text = _KEY_OPTION.sub(lambda match: match[1] + HIDDEN, text)
    return _KEY_PARAMETER.sub(lambda match: match[1] + HIDDEN, text)


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record on with `redact` applied to its message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
