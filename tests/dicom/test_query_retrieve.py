"""Query/Retrieve over DIMSE with pynetdicom as the peer: C-FIND at every level, C-GET and C-MOVE."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)
from pynetdicom import AE, AllStoragePresentationContexts, StoragePresentationContexts, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    MRImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    SecondaryCaptureImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from sqlmodel import select

from dicom import delivery, storage
from domain import db, modalities
from domain.modalities import ModalityCreate
from domain.models import Instance, Series
from tests.conftest import need_tool
from tests.dicom.conftest import SCU_AE, Pacs, associate, c_get, find, sample, send


@pytest.fixture
def stored(pacs: Pacs) -> Pacs:
    assert send(pacs, sample('CT_small.dcm'), sample('MR_small.dcm')) == [0, 0]
    return pacs


def test_c_find_at_study_level_matches_with_wildcards_and_returns_the_asked_keys(stored: Pacs) -> None:
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.PatientName = 'Compressed*'
    query.ModalitiesInStudy = 'CT'
    query.StudyInstanceUID = ''
    query.NumberOfStudyRelatedInstances = ''
    answers = find(stored, StudyRootQueryRetrieveInformationModelFind, query)
    assert len(answers) == 1
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    assert answers[0].StudyInstanceUID == ct.StudyInstanceUID
    assert answers[0].NumberOfStudyRelatedInstances == 1 and str(answers[0].PatientName) == str(ct.PatientName)


def test_c_find_at_patient_series_and_image_level(stored: Pacs) -> None:
    patients = Dataset()
    patients.QueryRetrieveLevel, patients.PatientID, patients.PatientName = 'PATIENT', '', ''
    assert len(find(stored, PatientRootQueryRetrieveInformationModelFind, patients)) == 2
    mr = pydicom.dcmread(sample('MR_small.dcm'))
    series = Dataset()
    series.QueryRetrieveLevel, series.StudyInstanceUID, series.Modality = 'SERIES', mr.StudyInstanceUID, ''
    series.SeriesInstanceUID = ''
    answers = find(stored, StudyRootQueryRetrieveInformationModelFind, series)
    assert [a.Modality for a in answers] == ['MR'] and answers[0].SeriesInstanceUID == mr.SeriesInstanceUID
    images = Dataset()
    images.QueryRetrieveLevel, images.SeriesInstanceUID, images.SOPInstanceUID = 'IMAGE', mr.SeriesInstanceUID, ''
    assert [a.SOPInstanceUID for a in find(stored, StudyRootQueryRetrieveInformationModelFind, images)] == [
        mr.SOPInstanceUID
    ]


def test_c_get_sends_the_study_back_on_the_same_association(stored: Pacs) -> None:
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.dataset)
        return 0x0000

    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for storage_class in (CTImageStorage, MRImageStorage):
        ae.add_requested_context(storage_class)
    roles = [build_role(CTImageStorage, scp_role=True), build_role(MRImageStorage, scp_role=True)]
    assoc = ae.associate(
        '127.0.0.1', stored.port, ae_title=stored.ae_title, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = pydicom.dcmread(sample('CT_small.dcm')).StudyInstanceUID
    statuses = [status.Status for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)]
    assoc.release()
    assert statuses[-1] == 0x0000
    assert [d.SOPInstanceUID for d in received] == [pydicom.dcmread(sample('CT_small.dcm')).SOPInstanceUID]


@pytest.fixture
def destination(stored: Pacs) -> Iterator[list[Dataset]]:
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.dataset)
        return 0x0000

    ae = AE(ae_title='VIEWSTATION')
    ae.supported_contexts = StoragePresentationContexts
    server = ae.start_server(('127.0.0.1', 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    modalities.add(
        ModalityCreate(ae_title='VIEWSTATION', host='127.0.0.1', port=server.server_address[1]),
        by=stored.clinic.admin.actor,
    )
    yield received
    server.shutdown()


def test_c_move_sends_the_series_to_an_entered_modality(stored: Pacs, destination: list[Dataset]) -> None:
    assoc = associate(stored, StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = 'SERIES'
    query.SeriesInstanceUID = pydicom.dcmread(sample('MR_small.dcm')).SeriesInstanceUID
    statuses = [
        s.Status
        for s, _ in assoc.send_c_move(
            query,
            'VIEWSTATION',  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove,
        )
    ]
    assoc.release()  # type: ignore[attr-defined]
    assert statuses[-1] == 0x0000
    assert [d.SOPInstanceUID for d in destination] == [pydicom.dcmread(sample('MR_small.dcm')).SOPInstanceUID]


def test_c_move_to_an_unknown_destination_is_refused(stored: Pacs) -> None:
    assoc = associate(stored, StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = pydicom.dcmread(sample('MR_small.dcm')).StudyInstanceUID
    statuses = [
        s.Status
        for s, _ in assoc.send_c_move(
            query,
            'NOWHERE',  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove,
        )
    ]
    assoc.release()  # type: ignore[attr-defined]
    assert statuses == [0xA801]


# ---------------------------------------------------------------- optional return keys (PS3.4 C.6.1.1, C.6.2.1)


@pytest.fixture
def headers_read(stored: Pacs) -> Pacs:
    """The metadata job has read the stored images' headers (it runs after arrival in the clinic)."""
    from jobs.media import extract_series_metadata

    with db.reading() as session:
        for series_id in session.exec(select(Series.id)).all():
            extract_series_metadata(series_id or 0)
    return stored


def _query(level: str, **keys: object) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


def test_c_find_at_patient_level_counts_the_patients_studies_series_and_images(stored: Pacs, tmp_path: Path) -> None:
    second = pydicom.dcmread(sample('CT_small.dcm'))
    second.StudyInstanceUID, second.SeriesInstanceUID = generate_uid(), generate_uid()
    second.SOPInstanceUID = second.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    assert send(stored, second) == [0]
    query = _query(
        'PATIENT',
        PatientID='1CT1',
        NumberOfPatientRelatedStudies='',
        NumberOfPatientRelatedSeries='',
        NumberOfPatientRelatedInstances='',
    )
    [answer] = find(stored, PatientRootQueryRetrieveInformationModelFind, query)
    assert answer.PatientID == '1CT1'
    assert (
        answer.NumberOfPatientRelatedStudies,
        answer.NumberOfPatientRelatedSeries,
        answer.NumberOfPatientRelatedInstances,
    ) == (2, 2, 2)


def test_c_find_at_study_level_lists_modalities_and_sop_classes_and_counts_series(stored: Pacs) -> None:
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    query = _query(
        'STUDY',
        StudyInstanceUID=ct.StudyInstanceUID,
        ModalitiesInStudy='',
        SOPClassesInStudy='',
        NumberOfStudyRelatedSeries='',
        NumberOfStudyRelatedInstances='',
    )
    [answer] = find(stored, StudyRootQueryRetrieveInformationModelFind, query)
    assert answer.ModalitiesInStudy == 'CT' and answer.SOPClassesInStudy == CTImageStorage
    assert (answer.NumberOfStudyRelatedSeries, answer.NumberOfStudyRelatedInstances) == (1, 1)


def test_c_find_at_series_level_answers_series_date_and_time_from_the_headers(headers_read: Pacs) -> None:
    ct, mr = pydicom.dcmread(sample('CT_small.dcm')), pydicom.dcmread(sample('MR_small.dcm'))
    answers = {
        answer.SeriesInstanceUID: answer
        for answer in find(
            headers_read,
            StudyRootQueryRetrieveInformationModelFind,
            _query(
                'SERIES',
                SeriesInstanceUID='',
                SeriesDate='',
                SeriesTime='',
                NumberOfSeriesRelatedInstances='',
                ContentDate='',
            ),
        )
    }
    assert (answers[ct.SeriesInstanceUID].SeriesDate, answers[ct.SeriesInstanceUID].SeriesTime) == (
        ct.SeriesDate,
        ct.SeriesTime,
    )
    assert answers[ct.SeriesInstanceUID].NumberOfSeriesRelatedInstances == 1
    assert answers[ct.SeriesInstanceUID].ContentDate == ''  # one image's, not the series'
    assert answers[mr.SeriesInstanceUID].SeriesDate == ''  # MR_small has none: empty, never another series' date


def test_c_find_at_series_level_leaves_the_date_empty_until_the_headers_are_read(stored: Pacs) -> None:
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    [answer] = find(
        stored,
        StudyRootQueryRetrieveInformationModelFind,
        _query('SERIES', SeriesInstanceUID=ct.SeriesInstanceUID, SeriesDate=''),
    )
    assert 'SeriesDate' in answer and answer.SeriesDate == ''


def test_c_find_at_image_level_answers_header_attributes_and_the_stored_syntax(headers_read: Pacs) -> None:
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    [answer] = find(
        headers_read,
        StudyRootQueryRetrieveInformationModelFind,
        _query('IMAGE', SOPInstanceUID=ct.SOPInstanceUID, ContentDate='', AvailableTransferSyntaxUID='', ImageType=''),
    )
    assert answer.ContentDate == ct.ContentDate and list(answer.ImageType) == list(ct.ImageType)
    assert answer.AvailableTransferSyntaxUID == ct.file_meta.TransferSyntaxUID


@pytest.mark.parametrize('level', ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'])
def test_every_answer_says_where_to_retrieve_from_and_that_it_is_online(stored: Pacs, level: str) -> None:
    answers = find(
        stored,
        PatientRootQueryRetrieveInformationModelFind,
        _query(level, PatientID='1CT1', RetrieveAETitle='', InstanceAvailability=''),
    )
    assert answers
    assert {(a.RetrieveAETitle, a.InstanceAvailability) for a in answers} == {(stored.ae_title, 'ONLINE')}


@pytest.mark.parametrize(
    ('level', 'keys', 'expected'),
    [
        (
            'PATIENT',
            ['PatientID=1CT1', 'NumberOfPatientRelatedStudies', 'NumberOfPatientRelatedInstances'],
            {
                'NumberOfPatientRelatedStudies': '1',
                'NumberOfPatientRelatedInstances': '1',
            },
        ),
        (
            'STUDY',
            ['PatientID=1CT1', 'NumberOfStudyRelatedSeries', 'ModalitiesInStudy', 'RetrieveAETitle'],
            {
                'NumberOfStudyRelatedSeries': '1',
                'ModalitiesInStudy': 'CT',
            },
        ),
        (
            'SERIES',
            ['PatientID=1CT1', 'SeriesDate', 'SeriesTime', 'InstanceAvailability'],
            {
                'SeriesDate': '19970430',
                'SeriesTime': '112749',
                'InstanceAvailability': 'ONLINE',
            },
        ),
        ('IMAGE', ['PatientID=1CT1', 'SOPInstanceUID', 'ContentDate', 'RetrieveAETitle'], {'ContentDate': '19970430'}),
    ],
)
def test_findscu_gets_the_optional_keys_at_every_level(
    headers_read: Pacs, tmp_path: Path, level: str, keys: list[str], expected: dict[str, str]
) -> None:
    findscu = need_tool('findscu')
    arguments = [findscu, '-P', '-aet', SCU_AE, '-aec', headers_read.ae_title, '-X', '-od', str(tmp_path)]
    for key in [f'QueryRetrieveLevel={level}', *keys]:
        arguments += ['-k', key]
    result = subprocess.run(
        [*arguments, '127.0.0.1', str(headers_read.port)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    [path] = sorted(tmp_path.glob('rsp*.dcm'))
    answer = pydicom.dcmread(path)
    assert {keyword: str(answer.get(keyword)) for keyword in expected} == expected
    if 'RetrieveAETitle' in keys:
        assert answer.RetrieveAETitle == headers_read.ae_title


# ---------------------------------------------------------------- retrieve delivers what it can, fails the rest alone


@pytest.fixture
def ct_and_jpeg(stored: Pacs) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    jpeg = pydicom.dcmread(sample('SC_rgb_jpeg_dcmtk.dcm'))
    assert send(stored, jpeg) == [0]
    return pydicom.dcmread(sample('CT_small.dcm')), jpeg


def test_c_get_sends_a_jpeg_image_decoded_when_the_requestor_takes_only_uncompressed(
    stored: Pacs, ct_and_jpeg: tuple[pydicom.Dataset, pydicom.Dataset]
) -> None:
    _ct, jpeg = ct_and_jpeg
    received, responses = c_get(
        stored, [jpeg.StudyInstanceUID], {SecondaryCaptureImageStorage: [ImplicitVRLittleEndian]}
    )
    assert responses[-1][0].Status == 0x0000
    [image] = received
    assert image.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian and image.PhotometricInterpretation == 'RGB'
    assert np.array_equal(image.pixel_array, jpeg.pixel_array)


def test_c_get_fails_only_the_image_no_accepted_context_can_carry(
    stored: Pacs, ct_and_jpeg: tuple[pydicom.Dataset, pydicom.Dataset], caplog: pytest.LogCaptureFixture
) -> None:
    ct, jpeg = ct_and_jpeg
    received, responses = c_get(
        stored,
        [ct.StudyInstanceUID, jpeg.StudyInstanceUID],
        {CTImageStorage: [JPEGBaseline8Bit], SecondaryCaptureImageStorage: [JPEGBaseline8Bit]},
    )
    assert [image.SOPInstanceUID for image in received] == [jpeg.SOPInstanceUID]  # as stored: JPEG is what it took
    assert received[0].file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    final, identifier = responses[-1]
    assert (final.Status, final.NumberOfFailedSuboperations, final.NumberOfCompletedSuboperations) == (0xB000, 1, 1)
    assert identifier.FailedSOPInstanceUIDList == ct.SOPInstanceUID
    warnings = [r.getMessage() for r in caplog.records if r.name == 'dicom.delivery' and r.levelname == 'WARNING']
    assert any(ct.SOPInstanceUID in message for message in warnings)
    assert not any(str(ct.PatientName) in message for message in warnings)


def test_an_unreadable_stored_file_fails_alone_and_the_others_still_arrive(
    stored: Pacs, ct_and_jpeg: tuple[pydicom.Dataset, pydicom.Dataset]
) -> None:
    ct, jpeg = ct_and_jpeg
    with db.reading() as session:
        [relative] = session.exec(select(Instance.file_path).where(Instance.sop_instance_uid == ct.SOPInstanceUID))
    storage.absolute(relative).write_bytes(b'not DICOM at all' * 64)
    received, responses = c_get(
        stored,
        [ct.StudyInstanceUID, jpeg.StudyInstanceUID],
        {CTImageStorage: [ExplicitVRLittleEndian], SecondaryCaptureImageStorage: [ExplicitVRLittleEndian]},
    )
    assert [image.SOPInstanceUID for image in received] == [jpeg.SOPInstanceUID]
    assert (responses[-1][0].Status, responses[-1][0].NumberOfFailedSuboperations) == (0xB000, 1)


def test_c_move_proposes_uncompressed_per_sop_class_and_each_stored_syntax_apart() -> None:
    files = [('a', CTImageStorage, JPEGBaseline8Bit), ('b', CTImageStorage, ExplicitVRLittleEndian)]
    files += [('c', MRImageStorage, RLELossless), ('d', MRImageStorage, RLELossless)]
    proposed = [(cx.abstract_syntax, list(cx.transfer_syntax)) for cx in delivery.contexts(files)]
    uncompressed = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    assert proposed == [
        (CTImageStorage, uncompressed),
        (MRImageStorage, uncompressed),
        (CTImageStorage, [JPEGBaseline8Bit]),
        (MRImageStorage, [RLELossless]),
    ]


def test_with_more_sop_classes_than_contexts_every_class_keeps_its_uncompressed_context() -> None:
    classes = [cx.abstract_syntax for cx in AllStoragePresentationContexts][:130]
    proposed = delivery.contexts([(f'{n}', str(sop_class), JPEGBaseline8Bit) for n, sop_class in enumerate(classes)])
    assert len(proposed) == delivery.MAX_CONTEXTS == 128
    assert all(list(cx.transfer_syntax) == [ExplicitVRLittleEndian, ImplicitVRLittleEndian] for cx in proposed)
