"""Credentials never leave the process: URLs and command lines as they may be shown or written."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SECRET_OPTIONS = ("--api-key",)


def redact(url: str) -> str:
    """`url` with any user and password replaced by '***'."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def redact_words(words: list[str]) -> list[str]:
    """A command line's words with secret options' values and URL credentials hidden."""
    shown = []
    for before, word in zip(["", *words], words, strict=False):
        if before in SECRET_OPTIONS:
            word = "***"
        elif any(word.startswith(f"{option}=") for option in SECRET_OPTIONS):
            word = word.split("=", 1)[0] + "=***"
        elif word.startswith("--") and "=" in word:
            option, value = word.split("=", 1)
            word = f"{option}={redact(value)}"
        elif "://" in word:
            word = redact(word)
        shown.append(word)
    return shown
