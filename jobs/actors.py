"""Imports every actor module so each kind of job has its actor declared on the broker."""

from . import reports  # noqa: F401 - render_report_pdf
