"""Credentials out of everything the project writes: one function, `redact`, for URLs and command lines.

A URL's user and password (`http://alice:pw@host` -> `http://***@host`) and the value of an API key
(`--api-key KEY`, `--to-api-key=KEY`, `api-key=`/`api_key=`/`apikey=` query parameters) become `***`,
and so does every secret this process was given (`remember`: the keys and URL passwords of the command
line and the environment), wherever it appears: in a server's error body that echoes the request's
headers, in a command line written in any form. Used wherever a location or a command line is shown or
recorded (terminal, reports, metrics.json, provenance, logs, holder files); importable without qdrant-client.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

HIDDEN = "***"
SHORT = 8  # a secret shorter than this is hidden only where it stands alone, not inside a longer word
_USERINFO = re.compile(r"(?<=://)[^/?#\s]*@")
_KEY_OPTION = re.compile(r"(--[\w-]*api-key(?:=|\s+))(?!/(?:\s|$))(?!-)(\S+)")  # not the hint "--api-key / ..."
_KEY_PARAMETER = re.compile(r"([?&](?:api[-_]?key|token|password)=)[^&#\s]*", re.IGNORECASE)
_SECRETS: set[str] = set()  # every key and password this process was given


def remember(value: str | None, *, url: bool = False) -> str | None:
    """Hide `value`, an API key (or with `url`, the user and password of a URL, never the rest of it), in
    everything `redact` sees from now on; returns it unchanged, so it can serve as a click callback's value."""
    if not value:
        return value
    if not url:
        _SECRETS.add(value)
        return value
    try:
        parts = urlsplit(value if "//" in value else f"//{value}")
        secrets = (parts.username, parts.password)
    except ValueError:
        secrets = ()
    _SECRETS.update(part for secret in secrets if secret for part in (secret, unquote(secret)))
    return value


def redact(text: str) -> str:
    """`text` (a URL, a command line, a message) with every credential in it replaced by '***'."""
    text = _USERINFO.sub(f"{HIDDEN}@", text)
    text = _KEY_OPTION.sub(lambda match: match[1] + HIDDEN, text)
    text = _KEY_PARAMETER.sub(lambda match: match[1] + HIDDEN, text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if len(secret) >= SHORT:
            text = text.replace(secret, HIDDEN)
        else:
            text = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", HIDDEN, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record on with `redact` applied to its message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
