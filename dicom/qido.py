"""QIDO-RS under /dicomweb (PS3.18 10.6): studies, series and instances searches answering DICOM JSON.

Query keys may be keywords (PatientName) or tags (00100010); `includefield` (a list or `all`), `limit`
and `offset` are honoured, `fuzzymatching` is accepted and ignored. Each route is guarded by the session
or HTTP Basic (ui.guard.route_guard) and its path has a row in domain.access.ROUTES.
"""

import logging
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from domain import study_query
from domain.access import Actor
from domain.errors import NotAllowed
from domain.models import Instance, Patient, Series, Study

log = logging.getLogger(__name__)

MEDIA_TYPE = 'application/dicom+json'
PREFIX = '/dicomweb'
ROUTES = (
    '/dicomweb/studies',
    '/dicomweb/series',
    '/dicomweb/instances',
    '/dicomweb/studies/{study}/series',
    '/dicomweb/studies/{study}/instances',
    '/dicomweb/studies/{study}/series/{series}/instances',
)
RESERVED = {'includefield', 'limit', 'offset', 'fuzzymatching'}
DEFAULT_LIMIT = 100


ACCEPTABLE = frozenset({MEDIA_TYPE, 'application/json', 'application/*', '*/*'})


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Serve the QIDO-RS searches on the web app; `guard(path)` is the route's access dependency."""
    studies_guard, series_guard, instances_guard, study_series_guard, study_instances_guard, series_instances_guard = (
        guard(path) for path in ROUTES
    )

    @app.get('/dicomweb/studies', include_in_schema=False)
    def search_studies(request: Request, actor: Annotated[Actor, Depends(studies_guard)]) -> JSONResponse:
        match, include, limit, offset = _params(request)
        rows = _call(study_query.search_studies, match, by=actor, limit=limit, offset=offset)
        return _answer([_study_json(study, patient, include) for study, patient in rows])

    @app.get('/dicomweb/series', include_in_schema=False)
    def search_series(request: Request, actor: Annotated[Actor, Depends(series_guard)]) -> JSONResponse:
        return _series(request, actor, '')

    @app.get('/dicomweb/studies/{study}/series', include_in_schema=False)
    def search_study_series(
        study: str, request: Request, actor: Annotated[Actor, Depends(study_series_guard)]
    ) -> JSONResponse:
        return _series(request, actor, study)

    @app.get('/dicomweb/instances', include_in_schema=False)
    def search_instances(request: Request, actor: Annotated[Actor, Depends(instances_guard)]) -> JSONResponse:
        return _instances(request, actor, '', '')

    @app.get('/dicomweb/studies/{study}/instances', include_in_schema=False)
    def search_study_instances(
        study: str, request: Request, actor: Annotated[Actor, Depends(study_instances_guard)]
    ) -> JSONResponse:
        return _instances(request, actor, study, '')

    @app.get('/dicomweb/studies/{study}/series/{series}/instances', include_in_schema=False)
    def search_series_instances(
        study: str, series: str, request: Request, actor: Annotated[Actor, Depends(series_instances_guard)]
    ) -> JSONResponse:
        return _instances(request, actor, study, series)


def _series(request: Request, actor: Actor, study_uid: str) -> JSONResponse:
    match, include, limit, offset = _params(request)
    rows = _call(study_query.search_series, match, by=actor, study_uid=study_uid, limit=limit, offset=offset)
    return _answer(
        [
            {**_study_json(study, patient, include, brief=True), **_series_json(series, include)}
            for series, study, patient in rows
        ]
    )


def _instances(request: Request, actor: Actor, study_uid: str, series_uid: str) -> JSONResponse:
    match, include, limit, offset = _params(request)
    rows = _call(
        study_query.search_instances,
        match,
        by=actor,
        study_uid=study_uid,
        series_uid=series_uid,
        limit=limit,
        offset=offset,
    )
    return _answer(
        [
            {
                **_study_json(study, patient, include, brief=True),
                **_series_json(series, include, brief=True),
                **_instance_json(instance, include),
            }
            for instance, series, study, patient in rows
        ]
    )


def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None


def _params(request: Request) -> tuple[dict[str, str], set[str], int, int]:
    _check_accept(request)
    match: dict[str, str] = {}
    include: set[str] = set()
    limit, offset = DEFAULT_LIMIT, 0
    for key, value in request.query_params.multi_items():
        lowered = key.lower()
        if lowered == 'includefield':
            include.update(_keyword(part) or part for part in value.split(',') if part)
        elif lowered == 'limit':
            limit = _integer(value, 'limit')
        elif lowered == 'offset':
            offset = _integer(value, 'offset')
        elif lowered not in RESERVED:
            keyword = _keyword(key)
            if keyword is None:
                raise HTTPException(status_code=400, detail=f'Unknown attribute {key}')
            _check_value(keyword, value)
            match[keyword] = value
    return match, include, limit, offset


def _check_accept(request: Request) -> None:
    """406 unless the client accepts DICOM JSON (PS3.18 8.7.3: application/dicom+json, or application/json)."""
    header = request.headers.get('accept', '').strip()
    if not header:
        return
    for media_range in header.split(','):
        kind, *parameters = (part.strip() for part in media_range.split(';'))
        quality = next((p.split('=', 1)[1] for p in parameters if p.replace(' ', '').startswith('q=')), '1')
        try:
            acceptable = float(quality) > 0
        except ValueError:
            acceptable = False
        if acceptable and kind.lower() in ACCEPTABLE:
            return
    raise HTTPException(status_code=406, detail=f'QIDO-RS answers {MEDIA_TYPE} (or application/json) only')


def _keyword(key: str) -> str | None:
    key = key.strip()
    if len(key) == 8 and all(c in '0123456789abcdefABCDEF' for c in key):
        return keyword_for_tag(int(key, 16)) or None
    return key if tag_for_keyword(key) is not None else None


def _check_value(keyword: str, value: str) -> None:
    """400 for a date (range) or number that cannot be read, rather than quietly matching nothing (PS3.18 8.3.4)."""
    if value in {'', '*'}:
        return
    tag = tag_for_keyword(keyword)
    vr = dictionary_VR(tag) if tag is not None else ''
    if vr == 'DA':
        start, _, end = value.partition('-')
        if not (start or end) or not all(_is_date(part) for part in (start, end) if part):
            raise HTTPException(status_code=400, detail=f'{keyword} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD')
    elif vr == 'IS' and not value.strip().lstrip('+-').isdigit():
        raise HTTPException(status_code=400, detail=f'{keyword} must be a whole number')


def _is_date(text: str) -> bool:
    digits = text.strip().replace('.', '')
    if len(digits) != 8 or not digits.isdigit():
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def _integer(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(status_code=400, detail=f'{name} must be a whole number') from None
    if number < 0:
        raise HTTPException(status_code=400, detail=f'{name} must not be negative')
    return number


def _answer(items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(items, media_type=MEDIA_TYPE)


def _study_json(study: Study, patient: Patient | None, include: set[str], *, brief: bool = False) -> dict[str, Any]:
    name = f'{patient.family_name}^{patient.given_name}'.rstrip('^') if patient is not None else study.patient_name
    values: dict[str, Any] = {
        'SpecificCharacterSet': 'ISO_IR 192',
        'StudyInstanceUID': study.study_instance_uid,
        'StudyDate': study.study_date.strftime('%Y%m%d') if study.study_date else '',
        'StudyTime': study.study_time,
        'AccessionNumber': study.accession_number,
        'PatientName': name,
        'PatientID': patient.patient_id if patient is not None else study.dicom_patient_id,
        'PatientBirthDate': patient.birth_date.strftime('%Y%m%d')
        if patient is not None and patient.birth_date
        else study.patient_birth_date,
        'PatientSex': study.patient_sex,
        'StudyID': study.study_id,
        'ReferringPhysicianName': study.referring_physician,
    }
    if not brief:
        values |= {
            'ModalitiesInStudy': [m for m in study.modalities.split('\\') if m],
            'StudyDescription': study.description,
            'NumberOfStudyRelatedSeries': study.num_series,
            'NumberOfStudyRelatedInstances': study.num_instances,
        }
    elif 'StudyDescription' in include or 'all' in include:
        values['StudyDescription'] = study.description
    return _json(values)


def _series_json(series: Series, include: set[str], *, brief: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {
        'SeriesInstanceUID': series.series_instance_uid,
        'Modality': series.modality,
        'SeriesNumber': series.series_number,
    }
    if not brief:
        values |= {
            'SeriesDescription': series.description,
            'BodyPartExamined': series.body_part,
            'NumberOfSeriesRelatedInstances': series.num_instances,
        }
    return _json(values)


def _instance_json(instance: Instance, include: set[str]) -> dict[str, Any]:
    values = _json(
        {
            'SOPClassUID': instance.sop_class_uid,
            'SOPInstanceUID': instance.sop_instance_uid,
            'InstanceNumber': instance.instance_number,
            'Rows': instance.rows,
            'Columns': instance.columns,
            'NumberOfFrames': instance.number_of_frames,
            'AvailableTransferSyntaxUID': instance.transfer_syntax_uid,
        }
    )
    extra = instance.attributes or {}
    if 'all' in include:
        return {**extra, **values}
    for keyword in include:
        tag = tag_for_keyword(keyword)
        if tag is not None and f'{tag:08X}' in extra:
            values[f'{tag:08X}'] = extra[f'{tag:08X}']
    return values


def _json(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values as DICOM JSON (PS3.18 F.2), keyed by tag."""
    result: dict[str, Any] = {}
    for keyword, value in values.items():
        tag = tag_for_keyword(keyword)
        if tag is None:
            continue
        vr = dictionary_VR(tag)
        element: dict[str, Any] = {'vr': vr}
        items = value if isinstance(value, list) else [value]
        items = [item for item in items if item not in (None, '')]
        if items:
            element['Value'] = [{'Alphabetic': item} for item in items] if vr == 'PN' else items
        result[f'{tag:08X}'] = element
    return result
