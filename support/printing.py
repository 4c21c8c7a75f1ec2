"""HTML to PDF with WeasyPrint, fetching nothing but what the caller hands over.

WeasyPrint's default fetcher follows ``file://``, ``http(s)://`` and ``data:`` URLs, so a
template (or a value placed in one) could read the server's files or reach internal
services into a letter. Every PDF this project prints (letters, notices, the
accounting of disclosures, record packages) goes through ``pdf_render`` instead: any
URL not in ``resources`` stops the rendering with ``PrintResourceRefused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# url -> (bytes, content type): the only things a rendering may load.
Resources = Mapping[str, tuple[bytes, str]]


class PrintResourceRefused(ValueError):
    """A document referred to something outside its own resources."""


def pdf_render(html: str, resources: Resources | None = None) -> Any:
    """The laid-out document (``.pages``, ``.write_pdf()``)."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    try:
        return HTML(string=html, url_fetcher=_fetcher(resources or {})).render()
    except FatalURLFetchingError as error:
        raise PrintResourceRefused("a document referred to a resource it may not load") from error


def pdf_from_html(html: str, resources: Resources | None = None) -> bytes:
    return bytes(pdf_render(html, resources).write_pdf())


def _fetcher(resources: Resources) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _OwnResourcesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url not in resources:
                raise PrintResourceRefused("only the document's own resources are loaded")
            data, content_type = resources[url]
            return URLFetcherResponse(url, body=data, headers={"Content-Type": content_type})

    return _OwnResourcesOnly(fail_on_errors=True)
