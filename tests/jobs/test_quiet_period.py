"""The study-complete quiet period is the administrator's option, read where it is used: by the decision sent after
each image, by the decision itself and by the sweeper, without a restart."""

from datetime import timedelta

import pytest

from dicom.ingest import Ingest
from domain import clock, options
from jobs import broker, media, sweeper
from jobs.sweeper import Sweeper
from tests.conftest import Clinic
from tests.jobs.test_media import arrive, pipeline, state  # noqa: F401 - the fixture and helpers of the media tests

QUIET = 30


@pytest.fixture
def longer_quiet(clinic: Clinic) -> None:
    broker.setup(None)
    options.put('study_quiet_seconds', QUIET, by=clinic.admin.actor)


def test_the_decision_after_an_image_waits_the_set_quiet_period(
    pipeline: Ingest,  # noqa: F811
    clinic: Clinic,
    longer_quiet: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    monkeypatch.setattr(media.decide_complete, 'send_with_options', lambda args, delay: sent.append(delay))
    pipeline.on_stored = media.arm
    arrive(pipeline, clinic, 'CT_small.dcm')
    assert sent == [QUIET * 1000]


def test_a_study_is_complete_only_after_the_set_quiet_period(
    pipeline: Ingest,  # noqa: F811
    clinic: Clinic,
    longer_quiet: None,
) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')
    clock.advance(timedelta(seconds=media.QUIET_SECONDS + 1))  # past the default second
    media.decide_complete(study_id)
    assert state(study_id) == 'receiving'
    clock.advance(timedelta(seconds=QUIET))
    media.decide_complete(study_id)
    assert state(study_id) == 'processing'


def test_the_sweeper_decides_by_the_set_quiet_period(
    pipeline: Ingest,  # noqa: F811
    clinic: Clinic,
    longer_quiet: None,
) -> None:
    study_id = arrive(pipeline, clinic, 'CT_small.dcm')  # no decision sent: as if its message was lost
    clock.advance(timedelta(seconds=media.QUIET_SECONDS + sweeper.DECIDE_AFTER_S + 1))  # overdue by the default
    assert Sweeper().sweep().decided == []
    clock.advance(timedelta(seconds=QUIET))
    assert Sweeper().sweep().decided == [study_id]
    assert state(study_id) == 'processing'
