"""Studies, series and instances as they arrive from modalities."""

import logging

from sqlalchemy import func
from sqlmodel import select

from . import db
from .models import Instance

log = logging.getLogger(__name__)


def pending_instances() -> int:
    """Instances acknowledged to a modality but not yet fully processed (metadata, thumbnails)."""
    with db.reading() as session:
        return session.exec(select(func.count()).where(Instance.state == 'stored')).one()
