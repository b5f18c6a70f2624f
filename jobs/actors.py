"""Imports every actor module so each kind of job has its actor declared on the broker."""

from . import (
    backups,  # noqa: F401 - run_backup, run_drill
    forwarding,  # noqa: F401 - forward_study, report_commitment
    media,  # noqa: F401 - decide_complete, extract_metadata, build_thumbnails
    reports,  # noqa: F401 - render_report_pdf
    retention,  # noqa: F401 - run_retention
)
