"""Retention rules as the administrator keeps them: what a rule picks (modality, description text, minimum age) and
whether it is enabled. Adding, changing and deleting a rule is audited, a change with each field's old and new
value. What a rule picks and what a confirmed run removes: domain/retention.py and domain/retention_runs.py.
"""

import logging
import math
from dataclasses import dataclass

from sqlalchemy import update as sql_update
from sqlmodel import SQLModel, col, select

from . import audit, clock, db
from .access import Actor, Permission, require
from .errors import N_, InvalidInput
from .models import RetentionRule, RetentionRun
from .retention import rule_of

log = logging.getLogger(__name__)

UNITS = ('years', 'months')
MAX_AGE_MONTHS = 12 * 200


class RetentionRuleCreate(SQLModel):
    """A rule as the administrator types it in; the age in years or months."""

    name: str = ''
    modality: str = ''
    description: str = ''
    min_age: float | None = 10
    age_unit: str = 'years'
    enabled: bool = True


@dataclass(frozen=True)
class RuleRow:
    """A rule as the Retention screen lists it."""

    id: int
    name: str
    modality: str
    description: str
    min_age_months: int
    enabled: bool


def list_rules(*, by: Actor) -> list[RuleRow]:
    """Every retention rule, by name."""
    require(by, Permission.MANAGE_RETENTION)
    with db.reading() as session:
        rules = session.exec(select(RetentionRule).order_by(col(RetentionRule.name), col(RetentionRule.id))).all()
    return [_row(rule) for rule in rules]


def add(data: RetentionRuleCreate, *, by: Actor) -> RetentionRule:
    """Add a rule; it removes nothing until an administrator previews and confirms it."""
    require(by, Permission.MANAGE_RETENTION)
    values = _validated(data)
    with db.transaction() as session:
        rule = RetentionRule.model_validate(values)
        session.add(rule)
        audit.record(session, by, 'retention.add', rule, detail=values)
    log.info('retention rule %s added', rule.id)
    return rule


def update(rule_id: int, data: RetentionRuleCreate, *, by: Actor) -> RetentionRule:
    """Change what a rule picks, or enable or disable it (old and new values are audited)."""
    require(by, Permission.MANAGE_RETENTION)
    values = _validated(data)
    with db.transaction() as session:
        rule = rule_of(session, rule_id)
        changed = audit.apply_changes(rule, values)
        rule.updated_at = clock.now()
        session.add(rule)
        audit.record(session, by, 'retention.update', rule, detail={'changed': changed})
    return rule


def delete(rule_id: int, *, by: Actor) -> None:
    """Delete a rule; its runs keep their record (a queued run then skips every study)."""
    require(by, Permission.MANAGE_RETENTION)
    with db.transaction() as session:
        rule = rule_of(session, rule_id)
        session.exec(sql_update(RetentionRun).where(col(RetentionRun.rule_id) == rule_id).values(rule_id=None))
        audit.record(session, by, 'retention.delete', rule, detail=_described(rule))
        session.delete(rule)


def form_of(rule: RuleRow) -> RetentionRuleCreate:
    """A rule as its edit form shows it: whole years when the age is, else months."""
    years, months = divmod(rule.min_age_months, 12)
    return RetentionRuleCreate(
        name=rule.name,
        modality=rule.modality,
        description=rule.description,
        min_age=years if not months else rule.min_age_months,
        age_unit='years' if not months else 'months',
        enabled=rule.enabled,
    )


# ---------------------------------------------------------------- helpers


def _row(rule: RetentionRule) -> RuleRow:
    return RuleRow(rule.id or 0, rule.name, rule.modality, rule.description, rule.min_age_months, rule.enabled)


def _validated(data: RetentionRuleCreate) -> dict[str, object]:
    problems: dict[str, str] = {}
    name = (data.name or '').strip()
    if not name or len(name) > 100:
        problems['name'] = N_('Give the rule a name of at most 100 characters')
    modality = (data.modality or '').strip().upper()
    if modality and (not modality.isalnum() or len(modality) > 16):
        problems['modality'] = N_('The modality is a code such as US, CT, MR or DX')
    description = (data.description or '').strip()
    if len(description) > 200:
        problems['description'] = N_('The description text is at most 200 characters')
    months = _months(data.min_age, data.age_unit)
    if months is None:
        problems['min_age'] = N_('The minimum age is a whole number of years or months, at least one month')
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return {
        'name': name,
        'modality': modality,
        'description': description,
        'min_age_months': months,
        'enabled': bool(data.enabled),
    }


def _months(value: float | None, unit: str) -> int | None:
    if value is None or unit not in UNITS or not math.isfinite(value) or value != int(value):
        return None
    months = int(value) * (12 if unit == 'years' else 1)
    return months if 1 <= months <= MAX_AGE_MONTHS else None


def _described(rule: RetentionRule) -> dict[str, object]:
    return {
        'name': rule.name,
        'modality': rule.modality,
        'description': rule.description,
        'min_age_months': rule.min_age_months,
        'enabled': rule.enabled,
    }
