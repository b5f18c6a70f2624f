"""Forwarding rules (auto-routing): studies that match a rule are sent on to another DICOM node once ready.

A rule matches on a modality in the study, the AE title that sent it and a description pattern (`*` and `?`, any
case), each empty for "any", and names its destination: an entered modality, whose host and port are read when
sending (never taken from anything a peer sent). When a study becomes ready, `route` makes one Forward row per
matching active rule and queues its job (FORWARD_JOB) in the same transaction; a study that becomes ready again
(more images came) goes again. A study is never sent back to the AE title it came from. The job
(jobs/forwarding.py) sends every image by C-STORE, retried with backoff; a failed one waits on the Jobs screen for
Retry. Rule changes and deliveries are audited.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from . import audit, clock, db, work
from .access import Actor, Permission, require, system
from .errors import N_, DomainError, InvalidInput, NotFound
from .models import Forward, ForwardingRule, Instance, Modality, Series, Study

log = logging.getLogger(__name__)

FORWARD_JOB = 'forward_study'
READY = 'ready'  # NOTE: domain.studies.READY


class ForwardingRuleCreate(SQLModel):
    """A rule as the administrator types it in."""

    name: str = ''
    modality: str = ''
    calling_ae: str = ''
    description: str = ''
    destination_id: int | None = None
    active: bool = True


@dataclass(frozen=True)
class RuleRow:
    """A rule as the Forwarding rules screen lists it."""

    id: int
    name: str
    modality: str
    calling_ae: str
    description: str
    destination_id: int
    destination_ae: str
    active: bool


@dataclass(frozen=True)
class Destination:
    """An entered modality a rule may send to."""

    id: int
    ae_title: str
    host: str
    port: int
    active: bool


@dataclass(frozen=True)
class Planned:
    """What one forward job sends and where: the study's files (relative path, SOP class, transfer syntax)."""

    forward_id: int
    study_id: int
    ae_title: str
    host: str
    port: int
    files: tuple[tuple[str, str, str], ...]


class DestinationUnavailable(DomainError):
    """The destination is disabled or has no address: retrying cannot help until the administrator fixes it."""


# ---------------------------------------------------------------- the administrator's rules


def list_rules(*, by: Actor) -> list[RuleRow]:
    """Every rule with its destination's AE title, by name."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.reading() as session:
        rows = session.exec(
            select(ForwardingRule, Modality.ae_title)
            .join(Modality, col(Modality.id) == col(ForwardingRule.destination_id))
            .order_by(col(ForwardingRule.name), col(ForwardingRule.id))
        ).all()
    return [
        RuleRow(
            rule.id or 0,
            rule.name,
            rule.modality,
            rule.calling_ae,
            rule.description,
            rule.destination_id,
            ae_title,
            rule.active,
        )
        for rule, ae_title in rows
    ]


def destinations(*, by: Actor) -> list[Destination]:
    """The entered modalities a rule may send to (those with an address), by AE title."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.reading() as session:
        rows = session.exec(select(Modality).where(Modality.host != '').order_by(col(Modality.ae_title))).all()
    return [Destination(row.id or 0, row.ae_title, row.host, row.port, row.active) for row in rows]


def add(data: ForwardingRuleCreate, *, by: Actor) -> ForwardingRule:
    """Add a rule; studies that become ready from now on are matched against it."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        rule = ForwardingRule.model_validate(_validated(session, data))
        session.add(rule)
        audit.record(session, by, 'forwarding.add', rule, detail=_described(rule))
    log.info('forwarding rule %s added', rule.id)
    return rule


def update(rule_id: int, data: ForwardingRuleCreate, *, by: Actor) -> ForwardingRule:
    """Change what a rule matches, where it sends, or whether it is active."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        rule = _rule(session, rule_id)
        values = _validated(session, data)
        changed = audit.apply_changes(rule, values)
        rule.updated_at = clock.now()
        session.add(rule)
        audit.record(session, by, 'forwarding.update', rule, detail={'changed': changed})
    return rule


def set_active(rule_id: int, active: bool, *, by: Actor) -> ForwardingRule:
    """Disable a rule (it matches nothing until enabled again) or enable it."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        rule = _rule(session, rule_id)
        rule.active, rule.updated_at = active, clock.now()
        session.add(rule)
        audit.record(session, by, 'forwarding.enable' if active else 'forwarding.disable', rule)
    return rule


def delete(rule_id: int, *, by: Actor) -> None:
    """Delete a rule; studies it already forwarded keep their history (and queued ones still go)."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        rule = _rule(session, rule_id)
        session.exec(sql_update(Forward).where(col(Forward.rule_id) == rule_id).values(rule_id=None))
        audit.record(session, by, 'forwarding.delete', rule, detail=_described(rule))
        session.delete(rule)


def matches(rule: ForwardingRule, study: Study) -> bool:
    """True when the study has the rule's modality, came from its AE title and its description fits the pattern."""
    if rule.modality and rule.modality.upper() not in {part.strip().upper() for part in study.modalities.split('\\')}:
        return False
    if rule.calling_ae and rule.calling_ae.strip() != study.source_ae.strip():
        return False
    return not rule.description or _pattern(rule.description).fullmatch(study.description or '') is not None


# ---------------------------------------------------------------- routing and sending (jobs)


def route(study_id: int) -> int:
    """Queue a forward job per matching active rule of a ready study (once per readiness); how many were queued."""
    try:
        with db.transaction() as session:
            study = session.get(Study, study_id)
            if study is None or study.state != READY:
                return 0
            rules = session.exec(select(ForwardingRule).where(col(ForwardingRule.active).is_(True))).all()
            queued = sum(_queue(session, rule, study) for rule in rules)
    except IntegrityError:  # another process routed the same study a moment ago
        log.info('study %s was routed by another process', study_id)
        return 0
    if queued:
        log.info('study %s: %d forward jobs queued', study_id, queued)
    return queued


def route_recent(hours: float = 24.0) -> int:
    """At start-up: route studies that became ready lately (a process may have stopped before routing them)."""
    since = clock.now() - timedelta(hours=hours)
    with db.reading() as session:
        if session.exec(select(ForwardingRule.id).where(col(ForwardingRule.active).is_(True))).first() is None:
            return 0
        ids = session.exec(select(Study.id).where(Study.state == READY, col(Study.ready_at) >= since)).all()
    return sum(route(study_id or 0) for study_id in ids)


def plan(forward_id: int) -> Planned | None:
    """What a forward job sends and where; None when the forward or its study is gone."""
    with db.reading() as session:
        forward = session.get(Forward, forward_id)
        if forward is None or session.get(Study, forward.study_id) is None:
            return None
        destination = session.get(Modality, forward.destination_id)
        if destination is None or not destination.active or not destination.host:
            name = destination.ae_title if destination else str(forward.destination_id)
            raise DestinationUnavailable('The destination {ae_title} is disabled or has no address', ae_title=name)
        files = session.exec(
            select(Instance.file_path, Instance.sop_class_uid, Instance.transfer_syntax_uid)
            .join(Series, col(Series.id) == col(Instance.series_id))
            .where(Series.study_id == forward.study_id)
            .order_by(col(Series.series_number), col(Series.id), col(Instance.instance_number), col(Instance.id))
        ).all()
    return Planned(
        forward_id,
        forward.study_id,
        destination.ae_title,
        destination.host,
        destination.port,
        tuple((row[0], row[1], row[2]) for row in files),
    )


def delivered(forward_id: int, sent: int) -> None:
    """Every image of the study reached the destination: record and audit it."""
    with db.transaction() as session:
        forward = session.get(Forward, forward_id)
        if forward is None:
            return
        forward.sent, forward.sent_at = sent, clock.now()
        session.add(forward)
        destination = session.get(Modality, forward.destination_id)
        detail = {
            'forward_id': forward_id,
            'rule_id': forward.rule_id,
            'destination': destination.ae_title if destination else '',
            'instances': sent,
        }
        audit.record(
            session,
            system('forwarding'),
            'study.forward',
            object_type='study',
            object_id=forward.study_id,
            detail=detail,
        )
    log.info('forward %s: study %s sent (%d images)', forward_id, forward.study_id, sent)


# ---------------------------------------------------------------- helpers


def _queue(session: Session, rule: ForwardingRule, study: Study) -> int:
    destination = session.get(Modality, rule.destination_id)
    if destination is None or not matches(rule, study) or destination.ae_title == study.source_ae.strip():
        return 0
    forward = session.exec(select(Forward).where(Forward.rule_id == rule.id, Forward.study_id == study.id)).first()
    if forward is None:
        forward = Forward(rule_id=rule.id, study_id=study.id or 0, destination_id=rule.destination_id)
    elif _aware(forward.ready_at) == _aware(study.ready_at):
        return 0  # this readiness is routed already
    forward.ready_at, forward.destination_id = study.ready_at, rule.destination_id
    session.add(forward)
    session.flush()
    work.enqueue(session, FORWARD_JOB, forward.id or 0)
    return 1


def _rule(session: Session, rule_id: int) -> ForwardingRule:
    rule = session.get(ForwardingRule, rule_id)
    if rule is None:
        raise NotFound('No forwarding rule {rule_id}', rule_id=rule_id)
    return rule


def _validated(session: Session, data: ForwardingRuleCreate) -> dict[str, object]:
    problems: dict[str, str] = {}
    name = (data.name or '').strip()
    if not name or len(name) > 100:
        problems['name'] = N_('Give the rule a name of at most 100 characters')
    modality = (data.modality or '').strip().upper()
    if modality and (not modality.isalnum() or len(modality) > 16):
        problems['modality'] = N_('The modality is a code such as US, CT, MR or DX')
    calling_ae = (data.calling_ae or '').strip()
    if len(calling_ae) > 16 or '\\' in calling_ae or any(ord(c) < 32 or ord(c) > 126 for c in calling_ae):
        problems['calling_ae'] = N_('An AE title is 1 to 16 printable ASCII characters without a backslash')
    description = (data.description or '').strip()
    if len(description) > 200:
        problems['description'] = N_('The description pattern is at most 200 characters')
    destination = session.get(Modality, data.destination_id) if data.destination_id else None
    if destination is None or not destination.host:
        problems['destination_id'] = N_('Choose the destination among the entered modalities with an address')
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return {
        'name': name,
        'modality': modality,
        'calling_ae': calling_ae,
        'description': description,
        'destination_id': data.destination_id,
        'active': bool(data.active),
    }


def _described(rule: ForwardingRule) -> dict[str, object]:
    return {
        'name': rule.name,
        'modality': rule.modality,
        'calling_ae': rule.calling_ae,
        'description': rule.description,
        'destination_id': rule.destination_id,
    }


def _pattern(text: str) -> re.Pattern[str]:
    """A description pattern as a regular expression: `*` any run of characters, `?` one character, any case."""
    return re.compile(
        ''.join('.*' if c == '*' else '.' if c == '?' else re.escape(c) for c in text), re.IGNORECASE | re.DOTALL
    )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
