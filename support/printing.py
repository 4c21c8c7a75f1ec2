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

_IMAGE_URL = "print-source:image"
_IMAGE_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><style>"
    "@page {{ size: {size}; margin: 1.5cm; }}"
    "html, body {{ margin: 0; height: 100%; }}"
    "body {{ display: flex; align-items: center; justify-content: center; }}"
    "img {{ display: block; max-width: 100%; max-height: 100%; object-fit: contain; }}"
    "</style></head><body><img src='{src}' alt=''></body></html>"
)


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


def pdf_image_page(data: bytes, content_type: str, page_size: str) -> bytes:
    """One page holding the image, scaled to fit inside the margins, upright (EXIF).

    The caller has checked the image (type sniffed, size in pixels bounded): WeasyPrint
    decodes it with Pillow.
    """
    html = _IMAGE_PAGE.format(size=page_size, src=_IMAGE_URL)
    return pdf_from_html(html, {_IMAGE_URL: (data, content_type)})


def _fetcher(resources: Resources) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _OwnResourcesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url not in resources:
                raise PrintResourceRefused("only the document's own resources are loaded")
            data, content_type = resources[url]
            return URLFetcherResponse(url, body=data, headers={"Content-Type": content_type})

    return _OwnResourcesOnly(fail_on_errors=True)
