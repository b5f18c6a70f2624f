"""The PDF of a report: WeasyPrint over the HTML of reports/pdf.py, fetching only the app's own files.

Kept apart from reports/pdf.py so that importing the report actors does not load WeasyPrint (about 0.4 s
of every start-up); it is imported when the first PDF is made.
"""

import logging
import mimetypes

from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

from domain import reporting
from domain.reporting import ReportView

from .pdf import SERVED, Assets, Clinic, Picture, render_html

log = logging.getLogger(__name__)


def render_pdf(view: ReportView, clinic: Clinic, pictures: list[Picture]) -> bytes:
    """The printable PDF of the report (A4, page numbers, checksum footer)."""
    markup = render_html(view, clinic, pictures)
    fetcher = AppFetcher(Assets(clinic.logo, [p.png for p in pictures]))
    identifier = (view.report.content_sha256 or f'draft-{view.report.id}').encode('ascii')
    pdf: bytes = HTML(string=markup, base_url='app:', url_fetcher=fetcher).write_pdf(pdf_identifier=identifier[:32])
    return pdf


class AppFetcher(URLFetcher):
    """Serves `app:static/…`, `app:fonts/…`, `app:logo` and `app:image/N`; refuses every other URL."""

    def __init__(self, assets: Assets) -> None:
        super().__init__(allowed_protocols=['app'])
        self.assets = assets

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith('app:'):
            raise ValueError(f'refused to fetch {url[:80]}: reports use only their own files')
        name = url[len('app:') :]
        if name == 'logo' and self.assets.logo:
            return _response(url, self.assets.logo, reporting.logo_type(self.assets.logo) or 'image/png')
        if name.startswith('image/') and name[6:].isdigit() and int(name[6:]) < len(self.assets.images):
            png = self.assets.images[int(name[6:])]
            if png is not None:
                return _response(url, png, 'image/png')
        folder, _, filename = name.partition('/')
        if folder in SERVED and filename and '/' not in filename and not filename.startswith('.'):
            path = SERVED[folder] / filename
            if path.is_file():
                return _response(url, path.read_bytes(), mimetypes.guess_type(filename)[0] or 'font/ttf')
        raise ValueError(f'refused to fetch {url[:80]}: not one of the report files')


def _response(url: str, body: bytes, mime: str) -> URLFetcherResponse:
    return URLFetcherResponse(url, body, headers={'Content-Type': mime})
