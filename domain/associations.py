"""The association log: each association a DICOM peer opened with the listener, accepted or rejected.

The listener writes a row when an accepted association ends, with what it did (images stored, images refused,
queries and echoes answered; dicom/association_log.py counts them), and domain.modalities writes one for each
refused peer with the reason. The modality page lists an AE title's last associations and the Modalities list
shows when each was last seen. Writing the log never fails an association: `record` logs a problem and returns.
The table stays bounded: `prune` (the scheduler, hourly) drops rows older than KEEP_DAYS and all but the newest
KEEP_PER_AE_TITLE of each calling AE title.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func
from sqlmodel import col, select

from . import clock, db
from .access import Actor, Permission, require
from .models import DicomAssociation

log = logging.getLogger(__name__)

KEEP_DAYS = 30
KEEP_PER_AE_TITLE = 200
ACCEPTED, REJECTED = 'accepted', 'rejected'
ABORTED = 'aborted'  # the reason of an accepted association that ended by an abort rather than a release


@dataclass(frozen=True)
class LastSeen:
    """When an AE title last opened an association, and whether that one was accepted."""

    at: datetime
    result: str


def record(
    ae_title: str,
    address: str,
    *,
    result: str,
    at: datetime | None = None,
    reason: str = '',
    tls: bool = False,
    images: int = 0,
    failed: int = 0,
    queries: int = 0,
    echoes: int = 0,
) -> None:
    """Log one association (the listener's threads call this); never raises: the association goes on regardless."""
    row = DicomAssociation(
        at=at or clock.now(),
        ae_title=ae_title.strip()[:16],
        address=address[:64],
        tls=tls,
        result=result,
        reason=reason[:200],
        images=images,
        failed=failed,
        queries=queries,
        echoes=echoes,
    )
    try:
        with db.transaction() as session:
            session.add(row)
    except Exception as error:  # the database may be down for a moment; the association itself is unaffected
        log.warning('association of %s from %s not logged (%s)', row.ae_title, row.address, type(error).__name__)


def recent(ae_title: str, *, by: Actor, limit: int = 20) -> Sequence[DicomAssociation]:
    """The newest associations of one calling AE title, newest first."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.reading() as session:
        return session.exec(
            select(DicomAssociation)
            .where(DicomAssociation.ae_title == ae_title.strip())
            .order_by(col(DicomAssociation.at).desc(), col(DicomAssociation.id).desc())
            .limit(limit)
        ).all()


def last_seen(ae_titles: Sequence[str], *, by: Actor) -> dict[str, LastSeen]:
    """For each of these AE titles that has called, when it last did and with what result."""
    require(by, Permission.MANAGE_MODALITIES)
    if not ae_titles:
        return {}
    newest = (
        select(col(DicomAssociation.ae_title).label('ae_title'), func.max(DicomAssociation.at).label('at'))
        .where(col(DicomAssociation.ae_title).in_(list(ae_titles)))
        .group_by(col(DicomAssociation.ae_title))
        .subquery()
    )
    query = select(DicomAssociation.ae_title, DicomAssociation.at, DicomAssociation.result).join(
        newest, and_(col(DicomAssociation.ae_title) == newest.c.ae_title, col(DicomAssociation.at) == newest.c.at)
    )
    with db.reading() as session:
        return {ae_title: LastSeen(at, result) for ae_title, at, result in session.exec(query)}


def prune(*, by: Actor) -> int:
    """Drop rows older than KEEP_DAYS and all but the newest KEEP_PER_AE_TITLE of each AE title; how many went."""
    require(by, Permission.MANAGE_MODALITIES)
    cutoff = clock.now() - timedelta(days=KEEP_DAYS)
    with db.transaction() as session:
        removed = session.exec(delete(DicomAssociation).where(col(DicomAssociation.at) < cutoff)).rowcount
        crowded = session.exec(
            select(DicomAssociation.ae_title)
            .group_by(col(DicomAssociation.ae_title))
            .having(func.count() > KEEP_PER_AE_TITLE)
        ).all()
        for ae_title in crowded:
            newest = select(DicomAssociation.id).where(DicomAssociation.ae_title == ae_title)
            oldest_kept = session.exec(
                newest.order_by(col(DicomAssociation.id).desc()).offset(KEEP_PER_AE_TITLE - 1).limit(1)
            ).one()
            older = and_(col(DicomAssociation.ae_title) == ae_title, col(DicomAssociation.id) < oldest_kept)
            removed += session.exec(delete(DicomAssociation).where(older)).rowcount
    if removed:
        log.info('association log: %d old rows removed', removed)
    return removed
