"""Imports every actor module so each kind of job has its actor declared on the broker."""

from . import (
    media,  # noqa: F401 - decide_complete, extract_metadata, build_thumbnails
    reports,  # noqa: F401 - render_report_pdf
)
