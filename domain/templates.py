"""Report templates as data: sections and fields with types, units, normal ranges and "normal" sentences.

A template is identified by its code; every edit by the administrator stores a new version, so a report
keeps pointing at the exact version it was written with. The shipped templates (template_library) are
seeded once at start-up.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import func
from sqlmodel import col, select

from . import audit, db
from .access import Actor, Permission, require, system
from .errors import InvalidInput, NotFound
from .models import ReportTemplate
from .template_library import LANGS, SHIPPED

log = logging.getLogger(__name__)

Labels = dict[str, str]


class Choice(BaseModel):
    value: str = Field(min_length=1, max_length=64)
    label: Labels


class FieldDef(BaseModel):
    """One structured field of a template."""

    key: str = Field(pattern=r'^[a-z][a-z0-9_]{0,63}$')
    label: Labels
    type: Literal['number', 'choice', 'text', 'computed']
    unit: str = Field(default='', max_length=16)
    normal: list[float] | None = None  # inclusive [low, high]
    required: bool = False
    choices: list[Choice] = []
    aliases: list[str] = []  # measurement labels that belong in this field (BPD, HC…)

    @model_validator(mode='after')
    def _consistent(self) -> 'FieldDef':
        if 'en' not in self.label or not self.label['en'].strip():
            raise ValueError(f'field {self.key} needs an English label')
        if self.normal is not None and (len(self.normal) != 2 or self.normal[0] > self.normal[1]):
            raise ValueError(f'field {self.key}: normal range must be [low, high]')
        if self.type == 'choice' and not self.choices:
            raise ValueError(f'field {self.key}: a choice field needs choices')
        return self


class SectionDef(BaseModel):
    key: str = Field(pattern=r'^[a-z][a-z0-9_]{0,63}$')
    label: Labels
    fields: list[FieldDef] = []
    normal_text: Labels = {}


class TemplateDefinition(BaseModel):
    """The whole of a template: what the editor shows and what the PDF prints."""

    name: Labels
    sections: list[SectionDef] = []
    calculator: Literal['hadlock'] | None = None
    impression_normal: Labels = {}

    @model_validator(mode='after')
    def _unique_keys(self) -> 'TemplateDefinition':
        keys = [f.key for s in self.sections for f in s.fields]
        if duplicates := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f'field keys used twice: {", ".join(duplicates)}')
        if 'en' not in self.name or not self.name['en'].strip():
            raise ValueError('the template needs an English name')
        return self

    def fields(self) -> list[FieldDef]:
        """Every field, section by section."""
        return [f for s in self.sections for f in s.fields]


def label(labels: Labels, language: str) -> str:
    """A label in the language asked for, English when it has no translation."""
    return labels.get(language) or labels.get('en', '')


def blank() -> dict[str, Any]:
    """The definition a new template starts from: an English name to fill in and no sections yet."""
    return {'name': {'en': ''}, 'sections': [], 'calculator': None, 'impression_normal': {}}


def from_json(text: str) -> dict[str, Any]:
    """The definition the administrator typed, read as a JSON object (its content is checked on saving)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            'Not valid JSON at line {line}, column {column}', line=error.lineno, column=error.colno
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidInput('The definition must be a JSON object')
    return parsed


def definition(template: ReportTemplate) -> TemplateDefinition:
    """The parsed definition of a stored template version."""
    return TemplateDefinition.model_validate(template.definition)


def seed_shipped() -> int:
    """Store the shipped templates whose codes are not yet on file, and a new version of a shipped template whose
    definition changed with an update of the program (unless an administrator made its newest version: their
    edits win); reports keep the version they were written with. Returns how many versions were added."""
    added = 0
    with db.transaction() as session:
        newest = {row.code: row for row in session.exec(select(ReportTemplate).order_by(col(ReportTemplate.version)))}
        for shipped in SHIPPED:
            parsed = TemplateDefinition.model_validate(shipped['definition'])
            on_file = newest.get(shipped['code'])
            if on_file is not None and (on_file.created_by != 'system' or on_file.definition == parsed.model_dump()):
                continue
            template = ReportTemplate(
                code=shipped['code'],
                version=1 if on_file is None else on_file.version + 1,
                name=shipped['name']['en'],
                modality=shipped['modality'],
                definition=parsed.model_dump(),
                active=True if on_file is None else on_file.active,
                created_by='system',
            )
            session.add(template)
            detail = {'code': template.code, 'version': template.version}
            audit.record(session, system('start-up'), 'template.seed', template, detail=detail)
            added += 1
    if added:
        log.info('seeded %d shipped report template versions', added)
    return added


def current(*, by: Actor, include_inactive: bool = False) -> Sequence[ReportTemplate]:
    """The newest version of every template (active ones only unless asked), by name."""
    require(by, Permission.VIEW_REPORTS)
    newest = (
        select(ReportTemplate.code, func.max(ReportTemplate.version).label('version'))
        .group_by(ReportTemplate.code)
        .subquery()
    )
    query = select(ReportTemplate).join(
        newest, (col(ReportTemplate.code) == newest.c.code) & (col(ReportTemplate.version) == newest.c.version)
    )
    if not include_inactive:
        query = query.where(col(ReportTemplate.active).is_(True))
    with db.reading() as session:
        return session.exec(query.order_by(col(ReportTemplate.name))).all()


def get(template_id: int, *, by: Actor) -> ReportTemplate:
    """One stored template version."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        template = session.get(ReportTemplate, template_id)
    if template is None:
        raise NotFound('No template {template_id}', template_id=template_id)
    return template


def versions(code: str, *, by: Actor) -> Sequence[ReportTemplate]:
    """Every stored version of one template, newest first."""
    require(by, Permission.MANAGE_TEMPLATES)
    with db.reading() as session:
        return session.exec(
            select(ReportTemplate).where(ReportTemplate.code == code).order_by(col(ReportTemplate.version).desc())
        ).all()


def save_version(code: str, definition_data: dict[str, Any], *, modality: str = '', by: Actor) -> ReportTemplate:
    """Store the administrator's edit as the template's next version (old reports keep theirs)."""
    require(by, Permission.MANAGE_TEMPLATES)
    code = code.strip().lower()
    if not code or len(code) > 64 or not code.replace('-', '').replace('_', '').isalnum():
        raise InvalidInput('The template code must be letters, digits, "-" or "_"', {'code': 'invalid'})
    parsed = parse(definition_data)
    with db.transaction() as session:
        latest = session.exec(
            select(ReportTemplate).where(ReportTemplate.code == code).order_by(col(ReportTemplate.version).desc())
        ).first()
        template = ReportTemplate(
            code=code,
            version=(latest.version + 1) if latest else 1,
            name=parsed.name['en'],
            modality=modality.strip().upper()[:16],
            definition=parsed.model_dump(),
            created_by=by.username,
            active=latest.active if latest else True,
        )
        session.add(template)
        audit.record(session, by, 'template.version', template, detail={'code': code, 'version': template.version})
    return template


def set_active(code: str, active: bool, *, by: Actor) -> None:
    """Offer a template for new reports, or stop offering it (its reports are untouched)."""
    require(by, Permission.MANAGE_TEMPLATES)
    with db.transaction() as session:
        rows = session.exec(select(ReportTemplate).where(ReportTemplate.code == code)).all()
        if not rows:
            raise NotFound('No template {template_id}', template_id=code)
        for row in rows:
            row.active = active
            session.add(row)
        audit.record(
            session,
            by,
            'template.activate' if active else 'template.retire',
            object_type='reporttemplate',
            object_id=code,
        )


def parse(definition_data: dict[str, Any]) -> TemplateDefinition:
    """Validate a definition, turning pydantic's complaints into one message for the administrator."""
    try:
        parsed = TemplateDefinition.model_validate(definition_data)
    except ValidationError as error:
        problems = '; '.join(
            f'{".".join(str(p) for p in e["loc"]) or "template"}: {e["msg"]}' for e in error.errors()[:5]
        )
        raise InvalidInput('The template is not valid: {problems}', problems=problems) from None
    unknown = {lang for f in parsed.fields() for lang in f.label} - set(LANGS)
    if unknown:
        raise InvalidInput('Unknown label languages: {languages}', languages=', '.join(sorted(unknown)))
    return parsed
