"""Imports every actor module so each kind of job has its actor declared on the broker."""

from . import (
    forwarding,  # noqa: F401 - forward_study, report_commitment
    media,  # noqa: F401 - decide_complete, extract_metadata, build_thumbnails
    reports,  # noqa: F401 - render_report_pdf
)
