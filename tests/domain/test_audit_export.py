"""The audit CSV as the service writes it: the events that matched when it was asked for, newest first, in batches,
capped, and the export itself audited."""

import csv
import io

import pytest

from domain import audit, audit_export
from domain.access import Actor
from domain.audit_filters import AuditFilter
from tests.conftest import Clinic


def _guess(username: str) -> None:
    audit.record_alone(Actor(role='', username=username, address='10.0.0.9'), 'login', outcome='failure')


def _rows(exported: audit_export.AuditCsv) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b''.join(exported.chunks).decode('utf-8-sig'))))


def test_the_export_holds_what_matched_when_asked_newest_first_batch_after_batch(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_export, 'BATCH', 2)  # five events in three batches
    for n in range(5):
        _guess(f'guess-{n}')
    exported = audit_export.prepare(AuditFilter(username='guess-'), by=clinic.admin.actor)
    _guess('guess-later')  # after the export was asked for: not in it
    rows = _rows(exported)
    assert [row['user'] for row in rows] == [f'guess-{n}' for n in (4, 3, 2, 1, 0)]
    assert (exported.rows, exported.capped) == (5, False)


def test_a_large_export_is_capped_and_says_so_in_its_audit_event(clinic: Clinic) -> None:
    for n in range(4):
        _guess(f'many-{n}')
    exported = audit_export.prepare(AuditFilter(username='many-'), by=clinic.admin.actor, max_rows=3)
    assert [row['user'] for row in _rows(exported)] == ['many-3', 'many-2', 'many-1']
    (event,) = audit.search(by=clinic.admin.actor, action='audit.export').rows
    assert event.detail == {'filters': {'username': 'many-'}, 'rows': 3, 'capped': True}
    assert (event.username, event.outcome) == (clinic.admin.username, 'success')
