"""Arrows and text labels on images: what a member of staff points out, besides the four measurement tools.

Anyone who may read images may annotate them; only the author or an administrator moves, rewrites or removes an
annotation. Each row keeps who made it and when, and who changed it last. Points are image pixels (column, row)
with the origin at the top left corner of the top left pixel, as the viewer and a DICOM Presentation State
(PIXEL units, PS3.3 C.10.5.1.2) both count them. dicom/gsps.py exports a study's annotations as a Grayscale
Softcopy Presentation State; the report's key images show the annotations of their frame (jobs/reports.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from . import audit, clock, db, events, viewing
from .access import Actor, Permission, require
from .errors import InvalidInput, NotAllowed, NotFound
from .models import Annotation, Instance, Role, Series, Study

ARROW, TEXT = 'arrow', 'text'
KINDS = {ARROW: 2, TEXT: 1}  # kind -> how many points it has
MAX_TEXT = 200
MAX_COORDINATE = 100_000.0


@dataclass(frozen=True)
class AnnotationView:
    id: int
    study_id: int
    instance_id: int
    frame: int
    kind: str
    points: list[list[float]]
    text: str
    created_by: str
    created_at: datetime
    changed_by: str
    changed_at: datetime | None


@dataclass(frozen=True)
class AnnotatedImage:
    """An image some annotations are on, with what a presentation state needs to reference it."""

    instance_id: int
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    file_path: str
    rows: int | None
    columns: int | None
    number_of_frames: int


@dataclass(frozen=True)
class StudyAnnotations:
    """A study's annotations with the images they are on (for the GSPS export)."""

    study_id: int
    study_instance_uid: str
    annotations: list[AnnotationView]
    images: dict[int, AnnotatedImage]


def add(
    study_id: int,
    instance_id: int,
    frame: int,
    kind: str,
    points: Sequence[Sequence[float]],
    *,
    text: str = '',
    by: Actor,
) -> AnnotationView:
    """Put an arrow (tail, head) or a text label (anchor) on an image of the study."""
    require(by, Permission.READ_IMAGES)
    checked, words = _checked(kind, points, text)
    with db.transaction() as session:
        viewing.instance_in_study(session, study_id, instance_id)
        row = Annotation(
            study_id=study_id,
            instance_id=instance_id,
            frame=max(1, int(frame)),
            kind=kind,
            points=checked,
            text=words,
            created_by=by.username,
            created_at=clock.now(),
        )
        session.add(row)
        audit.record(session, by, 'annotation.create', row, detail={'study_id': study_id, 'kind': kind})
        events.publish_after(session, events.MeasurementsChanged(study_id))
    return _view(row)


def change(
    annotation_id: int,
    *,
    points: Sequence[Sequence[float]] | None = None,
    text: str | None = None,
    by: Actor,
) -> AnnotationView:
    """Move an annotation (new points) or rewrite its text; the author or an administrator only."""
    require(by, Permission.READ_IMAGES)
    _may_change(annotation_id, by)
    with db.transaction() as session:
        row = _row(session, annotation_id)
        checked, words = _checked(
            row.kind, row.points if points is None else points, row.text if text is None else text
        )
        row.points, row.text = checked, words
        row.changed_by, row.changed_at = by.username, clock.now()
        session.add(row)
        audit.record(session, by, 'annotation.change', row, detail={'study_id': row.study_id, 'kind': row.kind})
        events.publish_after(session, events.MeasurementsChanged(row.study_id))
    return _view(row)


def delete(annotation_id: int, *, by: Actor) -> None:
    """Remove an annotation; the author or an administrator only."""
    require(by, Permission.READ_IMAGES)
    _may_change(annotation_id, by)
    with db.transaction() as session:
        row = _row(session, annotation_id)
        audit.record(
            session, by, 'annotation.delete', row, detail={'study_id': row.study_id, 'kind': row.kind, 'text': row.text}
        )
        session.delete(row)
        events.publish_after(session, events.MeasurementsChanged(row.study_id))


def of_study(study_id: int, *, by: Actor) -> list[AnnotationView]:
    """The study's annotations, oldest first."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        rows = session.exec(
            select(Annotation).where(Annotation.study_id == study_id).order_by(col(Annotation.id))
        ).all()
    return [_view(row) for row in rows]


def on_frames(study_id: int, frames: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[AnnotationView]]:
    """The annotations on the given (instance id, frame) pairs of a study, for the report's key images (jobs)."""
    wanted = set(frames)
    with db.reading() as session:
        rows = session.exec(
            select(Annotation).where(Annotation.study_id == study_id).order_by(col(Annotation.id))
        ).all()
    found: dict[tuple[int, int], list[AnnotationView]] = {}
    for row in rows:
        if (row.instance_id, row.frame) in wanted:
            found.setdefault((row.instance_id, row.frame), []).append(_view(row))
    return found


def for_export(study_id: int, *, by: Actor) -> StudyAnnotations:
    """The study's annotations and the images they are on, for a presentation state (audited as an export)."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('This study is not on file')
        rows = session.exec(
            select(Annotation).where(Annotation.study_id == study_id).order_by(col(Annotation.id))
        ).all()
        if not rows:
            raise NotFound('This study has no annotations')
        pictured = session.exec(
            select(Instance, Series.series_instance_uid)
            .join(Series, col(Series.id) == Instance.series_id)
            .where(col(Instance.id).in_(sorted({row.instance_id for row in rows})))
        ).all()
    images = {
        instance.id or 0: AnnotatedImage(
            instance.id or 0,
            series_uid,
            instance.sop_instance_uid,
            instance.sop_class_uid,
            instance.file_path,
            instance.rows,
            instance.columns,
            max(1, instance.number_of_frames),
        )
        for instance, series_uid in pictured
    }
    audit.record_alone(
        by, 'annotation.export', object_type='study', object_id=study_id, detail={'annotations': len(rows)}
    )
    return StudyAnnotations(study_id, study.study_instance_uid, [_view(row) for row in rows], images)


def may_change(view: AnnotationView, by: Actor) -> bool:
    """Whether this actor may move, rewrite or remove the annotation (the viewer shows its buttons by this)."""
    return by.role == Role.ADMIN.value or (bool(by.username) and view.created_by == by.username)


# ---------------------------------------------------------------- private helpers


def _checked(kind: str, points: Sequence[Sequence[float]], text: str) -> tuple[list[list[float]], str]:
    if kind not in KINDS:
        raise InvalidInput('Unknown annotation kind {kind}', kind=kind)
    try:
        checked = [[round(float(x), 2), round(float(y), 2)] for x, y in points]
    except (TypeError, ValueError) as error:
        raise InvalidInput('An annotation needs points on the image') from error
    if len(checked) != KINDS[kind] or any(not -MAX_COORDINATE <= v <= MAX_COORDINATE for p in checked for v in p):
        raise InvalidInput('An annotation needs points on the image')
    words = ' '.join(text.split())[:MAX_TEXT]
    if kind == TEXT and not words:
        raise InvalidInput('A text label needs some text')
    return checked, words


def _may_change(annotation_id: int, by: Actor) -> None:
    with db.reading() as session:
        row = _row(session, annotation_id)
        allowed = may_change(_view(row), by)
    if not allowed:
        audit.record_refusal(by, 'denied:annotation.change', object_type='annotation', object_id=annotation_id)
        raise NotAllowed('Only its author or an administrator may change this annotation')


def _row(session: Session, annotation_id: int) -> Annotation:
    row = session.get(Annotation, annotation_id)
    if row is None:
        raise NotFound('This annotation is not on file')
    return row


def _view(row: Annotation) -> AnnotationView:
    return AnnotationView(
        row.id or 0,
        row.study_id,
        row.instance_id,
        row.frame,
        row.kind,
        [[float(x), float(y)] for x, y in row.points],
        row.text,
        row.created_by,
        row.created_at,
        row.changed_by,
        row.changed_at,
    )
