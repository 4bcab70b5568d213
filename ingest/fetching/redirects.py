"""Following HTTP redirects one by one for `datasets fetch`: each hop recorded, none from https to plain http.

httpx would follow them by itself and keep only the last URL; here every hop is checked before it is
requested and kept for the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from errors import DownloadError
from ingest.fetching.catalogue import RemoteFile

MAX_REDIRECTS = 10


@contextmanager
def followed(file: RemoteFile, headers: dict, *, timeout, redirects: list[str]) -> Iterator:
    """The streamed answer to GET `file.url`, redirects followed one by one: each recorded in
    `redirects`, one from https to anything else refused before it is requested."""
    import httpx

    url = file.url
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = client.send(client.build_request("GET", url, headers=headers), stream=True)
            if not response.is_redirect or response.next_request is None:
                try:
                    yield response
                finally:
                    response.close()
                return
            response.close()
            target = str(response.next_request.url)
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                raise DownloadError(
                    f"{file.url}: {url} redirects to {target}, from https to plain http; refused "
                    f"(download it by hand if you trust it)"
                )
            if urlsplit(target).scheme not in ("http", "https"):
                raise DownloadError(f"{file.url}: {url} redirects to {target}; refused")
            if target not in redirects:
                redirects.append(target)
            url = target
    raise DownloadError(f"{file.url}: more than {MAX_REDIRECTS} redirects ({' -> '.join(redirects)}); refused")
