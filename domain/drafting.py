"""Suggested drafts: plug-ins read a study and its report so far and propose text for it, offline.

A plug-in is an object with a `name`, a `title` and `suggest(context) -> Suggestion | None`; `register()` adds one
(the shipped measurement plug-in is domain.draft_sentences; others, such as a model runner, register at start-up).
A suggestion is never written into a report by itself: the doctor sees it marked as a suggestion and accepts or
discards it, and each of the three steps (suggested, accepted, discarded) is in the audit trail. Accepting fills
only fields still empty and adds the text after what the draft already says; a final report takes none.
The suggestion is computed again when accepted, so what is written is what the server derives, not what a browser
sends. A plug-in that fails is logged and left out; the others still answer.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlmodel import Session, col, select

from . import audit, db, events, report_ownership, richtext
from .access import Actor, Permission, require
from .errors import NotFound
from .models import Instance, Report, ReportTemplate, Series, Study
from .report_values import is_blank
from .templates import TemplateDefinition, definition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftContext:
    """What a plug-in may read: the study's ids and facts, the report's template and values, and its images
    (instance id, SOP class, stored file path: pixels are read through the storage layer by plug-ins outside the
    domain)."""

    study_id: int
    report_id: int
    template_code: str
    template: TemplateDefinition
    language: str
    values: dict[str, Any]
    study_date: date | None
    modalities: str
    images: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Suggestion:
    """What a plug-in proposes: field values, and sentences for the findings and the impression (plain text)."""

    plugin: str
    values: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    impression: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.values or self.findings or self.impression)


class Plugin(Protocol):
    name: str
    title: dict[str, str]  # by language, as the templates' labels

    def suggest(self, context: DraftContext) -> Suggestion | None: ...


_plugins: dict[str, Plugin] = {}


def register(plugin: Plugin) -> None:
    """Offer a plug-in's suggestions on every draft (a second registration under a name replaces the first)."""
    _plugins[plugin.name] = plugin


def plugins() -> list[Plugin]:
    """The plug-ins offered, the shipped one first."""
    from . import draft_sentences  # noqa: F401 - registers itself; imported here, as it imports this module

    return list(_plugins.values())


def suggestions(report_id: int, *, by: Actor) -> list[Suggestion]:
    """Every plug-in's suggestion for the draft (those with something to say); audited as shown."""
    require(by, Permission.WRITE_REPORTS)
    context = _context(report_id)
    found = [s for s in (_ask(plugin, context) for plugin in plugins()) if s is not None and not s.empty]
    if found:
        detail = {'plugins': [s.plugin for s in found]}
        audit.record_alone(by, 'report.suggest', object_type='report', object_id=report_id, detail=detail)
    return found


def accept(report_id: int, plugin_name: str, *, by: Actor) -> Suggestion:
    """Write the plug-in's suggestion into the draft: empty fields filled, text added after what is there."""
    require(by, Permission.WRITE_REPORTS)
    suggestion = _ask(_plugin(plugin_name), _context(report_id))
    if suggestion is None or suggestion.empty:
        raise NotFound('The suggestion is no longer there')
    with db.transaction() as session:
        report = report_ownership.authors_draft(session, report_id, by)
        filled = into_draft(session, report, suggestion.values, suggestion.findings, suggestion.impression)
        audit.record(
            session,
            by,
            'report.accept_suggestion',
            report,
            detail={'plugin': plugin_name, 'fields': sorted(filled), 'sentences': len(suggestion.findings)},
        )
    log.info('report %s: suggestion of %s accepted', report_id, plugin_name)
    return suggestion


def discard(report_id: int, plugin_name: str, *, by: Actor) -> None:
    """The doctor set the suggestion aside: nothing changes but the audit trail."""
    require(by, Permission.WRITE_REPORTS)
    _plugin(plugin_name)
    with db.transaction() as session:
        report = report_ownership.authors_draft(session, report_id, by)
        audit.record(session, by, 'report.discard_suggestion', report, detail={'plugin': plugin_name})


def into_draft(
    session: Session,
    report: Report,
    values: dict[str, str],
    findings: Sequence[str] = (),
    impression: Sequence[str] = (),
) -> dict[str, str]:
    """Write into a draft its author is changing (report_ownership.authors_draft): the values of fields still blank
    (never over what a doctor typed), the sentences after its findings and impression; editors hear of it after the
    commit. Returns the values written."""
    filled = {key: value for key, value in values.items() if is_blank(report.values.get(key))}
    if not (filled or findings or impression):
        return {}
    report.values = {**report.values, **filled}
    report.findings = _added(report.findings, findings)
    report.impression = _added(report.impression, impression)
    session.add(report)
    events.publish_after(session, events.ReportChanged(report.id or 0, report.study_id, report.state))
    return filled


def _ask(plugin: Plugin, context: DraftContext) -> Suggestion | None:
    try:
        return plugin.suggest(context)
    except Exception:  # a plug-in's fault must not cost the doctor the editor; it is logged for the admin
        log.exception('draft plug-in %s failed on report %s', plugin.name, context.report_id)
        return None


def _plugin(name: str) -> Plugin:
    offered = {plugin.name: plugin for plugin in plugins()}  # the shipped one registered, as for suggestions()
    if name not in offered:
        raise NotFound('No draft plug-in {name}', name=name)
    return offered[name]


def _context(report_id: int) -> DraftContext:
    with db.reading() as session:
        report = session.get(Report, report_id)
        if report is None or report.kind != 'report':
            raise NotFound('No report {report_id}', report_id=report_id)
        template = session.get(ReportTemplate, report.template_id)
        study = session.get(Study, report.study_id)
        assert template is not None and study is not None
        images = session.exec(
            select(Instance.id, Instance.sop_class_uid, Instance.file_path)
            .join(Series, col(Series.id) == Instance.series_id)
            .where(Series.study_id == study.id)
        ).all()
    return DraftContext(
        study_id=study.id or 0,
        report_id=report_id,
        template_code=template.code,
        template=definition(template),
        language=report.language,
        values=dict(report.values),
        study_date=study.study_date,
        modalities=study.modalities,
        images=[(instance_id or 0, sop_class, path) for instance_id, sop_class, path in images],
    )


def _added(html: str, sentences: Sequence[str]) -> str:
    """The rich text with the sentences as a paragraph after it."""
    if not sentences:
        return html
    return richtext.clean(html + richtext.from_text(' '.join(sentences)))
