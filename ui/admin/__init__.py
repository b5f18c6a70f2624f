"""The administrator's screens: users, audit, jobs and settings."""

from . import (
    audit_log,
    backups,
    billing,
    centres,
    forwarding,
    hanging_protocols,
    job_list,
    modalities,
    modality_page,
    procedures,
    retention,
    settings_page,
    templates,
    trash,
    user_list,
)


def register() -> None:
    user_list.register()
    audit_log.register()
    job_list.register()
    settings_page.register()
    templates.register()
    procedures.register()
    modalities.register()
    modality_page.register()
    forwarding.register()
    hanging_protocols.register()
    backups.register()
    retention.register()
    trash.register()
    billing.register()
    centres.register()
