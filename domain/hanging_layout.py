"""What a hanging protocol is and what it puts where: the model, its validation, which protocols fit a study and
which series of which study each viewport of a stage shows. Plain values only, no database (domain.hanging_protocols
keeps and chooses them; its docstring describes the rule and the stages).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from .errors import N_, InvalidInput, Message
from .viewing import PriorStudy, SeriesView, StudyView

Layout = Literal['1x1', '1x2', '2x2', '1x3']
LAYOUTS: dict[str, int] = {'1x1': 1, '1x2': 2, '2x2': 4, '1x3': 3}  # name -> viewports
PLANES = ('axial', 'coronal', 'sagittal')
# NOTE: the names of ui/viewer_tools.py PRESETS (domain may not import ui; tests/domain/test_hanging_protocols.py
# checks the two agree).
PRESET_NAMES = frozenset({'Soft tissue', 'Lung', 'Bone', 'Brain', 'Abdomen', 'Liver', 'Mediastinum', 'Narrow', 'Wide'})
MAX_PRIORS, MAX_STAGES = 3, 8


class SeriesRule(BaseModel):
    """Which series a viewport shows: by description words, plane, series number or place in reading order."""

    model_config = ConfigDict(extra='forbid')
    by: Literal['description', 'plane', 'number', 'index'] = 'index'
    value: str | int = 0


class ViewportRule(BaseModel):
    """One viewport of a stage."""

    model_config = ConfigDict(extra='forbid')
    series: SeriesRule = Field(default_factory=SeriesRule)
    preset: str = ''
    prior: int = Field(default=0, ge=0, le=MAX_PRIORS)
    cine: bool = False


class Stage(BaseModel):
    """A layout and what goes into each of its viewports."""

    model_config = ConfigDict(extra='forbid')
    layout: Layout = '1x1'
    viewports: list[ViewportRule] = Field(default_factory=lambda: [ViewportRule()], min_length=1)


class ProtocolInput(BaseModel):
    """A protocol as a form or the viewer's "save layout" sends it (checked by `check`)."""

    name: str = ''
    modality: str = ''
    pattern: str = ''
    priors: int = 0
    stages: list[Stage] = Field(default_factory=lambda: [Stage()])
    rank: int = 0
    active: bool = True

    @field_validator('name', 'modality', 'pattern')
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()


_STAGES = TypeAdapter(list[Stage])


@dataclass(frozen=True)
class Protocol:
    """A stored protocol with its stages parsed."""

    id: int
    name: str
    owner_id: int | None
    modality: str
    pattern: str
    priors: int
    stages: tuple[Stage, ...]
    rank: int
    active: bool
    changed_by: str

    @property
    def shared(self) -> bool:
        return self.owner_id is None

    def as_input(self) -> ProtocolInput:
        """The protocol as a form edits it."""
        return ProtocolInput(
            name=self.name,
            modality=self.modality,
            pattern=self.pattern,
            priors=self.priors,
            stages=[stage.model_copy(deep=True) for stage in self.stages],
            rank=self.rank,
            active=self.active,
        )


@dataclass(frozen=True)
class Placement:
    """What one viewport of a stage shows: a series of this study or of a prior, its preset and cine."""

    study: StudyView
    series: SeriesView
    preset: str
    cine: bool


# ---------------------------------------------------------------- fitting and resolving


def rank(study: StudyView, protocols: Sequence[Protocol], user_id: int | None) -> list[Protocol]:
    """The protocols that fit the study, best first: own before shared, specific before general, rank, age."""
    fitting = [p for p in protocols if fits(p, study.modalities, _regions(study))]
    return sorted(
        fitting,
        key=lambda p: (
            not (user_id is not None and p.owner_id == user_id),
            -(bool(p.modality) * 2 + bool(p.pattern)),
            p.rank,
            p.id,
        ),
    )


def fits(protocol: Protocol, modalities: str, regions: str) -> bool:
    """The rule fits a study of these modalities (backslash-joined) whose body parts and description are `regions`."""
    if protocol.modality:
        wanted = {m.strip().upper() for m in protocol.modality.split('|') if m.strip()}
        if not wanted & {m.strip().upper() for m in modalities.split('\\') if m.strip()}:
            return False
    return pattern_matches(protocol.pattern, regions)


def pattern_matches(pattern: str, text: str) -> bool:
    """'' matches anything; else any '|' alternative whose words all occur in the text (case-insensitive)."""
    if not pattern.strip():
        return True
    folded = text.casefold()
    return any(
        alternative.split() and all(word in folded for word in alternative.split())
        for alternative in pattern.casefold().split('|')
    )


def matching_priors(protocol: Protocol, study: StudyView, priors: Sequence[PriorStudy]) -> list[PriorStudy]:
    """The patient's earlier studies the protocol may open beside this one (newest first, at most `priors`):
    the same modality and the same body part (or, where body parts are not known, fitting the protocol's pattern)."""
    if protocol.priors <= 0:
        return []
    own_parts = {s.body_part.casefold() for s in study.series if s.body_part}
    modalities = {m for m in study.modalities.split('\\') if m}
    found = []
    for prior in priors:
        if study.study_date and prior.study_date and prior.study_date > study.study_date:
            continue  # a later study is not a prior of this one
        if not modalities & {m for m in prior.modalities.split('\\') if m}:
            continue
        parts = {p.casefold() for p in prior.body_parts.split('\\') if p}
        if own_parts and parts:
            if not own_parts & parts:
                continue
        elif not pattern_matches(protocol.pattern, f'{prior.body_parts} {prior.description}'):
            continue
        found.append(prior)
    return found[: protocol.priors]


def usable_stages(protocol: Protocol, priors_open: int) -> list[int]:
    """The stages that can be shown with this many priors open (a stage needing a missing prior is skipped);
    never empty: with no usable stage, the first one is shown with what there is."""
    usable = [n for n, stage in enumerate(protocol.stages) if all(v.prior <= priors_open for v in stage.viewports)]
    return usable or [0]


def resolve(protocol: Protocol, stage: int, study: StudyView, priors: Sequence[StudyView]) -> list[Placement | None]:
    """What each viewport of a stage shows (None: nothing to show there). A missing prior falls back to this study,
    a series rule that finds nothing to the first series not yet placed in the stage (None when every one is)."""
    rules = protocol.stages[stage].viewports[: LAYOUTS[protocol.stages[stage].layout]]
    placed: set[int] = set()
    result: list[Placement | None] = []
    for rule in rules:
        source = priors[rule.prior - 1] if 0 < rule.prior <= len(priors) else study
        shown = [s for s in source.series if s.instances]
        series = _pick(rule.series, shown) or next((s for s in shown if s.id not in placed), None)
        if series is None:  # nothing fits that is not on screen already: leave the viewport empty
            result.append(None)
            continue
        placed.add(series.id)
        result.append(Placement(source, series, rule.preset, rule.cine))
    return result


def layout_name(count: int) -> Layout:
    """The stage layout of a viewer showing this many viewports."""
    names: dict[int, Layout] = {1: '1x1', 2: '1x2', 3: '1x3', 4: '2x2'}
    return names.get(count, '1x1')


# ---------------------------------------------------------------- checking


def check(data: ProtocolInput) -> ProtocolInput:
    """The protocol if it is valid; else InvalidInput naming each field (and stage, viewport) that is not."""
    problems: dict[str, Message] = {}
    if not data.name or len(data.name) > 120:
        problems['name'] = N_('Give the protocol a name (at most 120 characters)')
    modalities = [m.strip() for m in data.modality.upper().split('|')] if data.modality else []
    if len(data.modality) > 16 or any(not m.isalnum() or not 2 <= len(m) <= 16 for m in modalities):
        problems['modality'] = N_('A modality code such as CT, or several joined by | (CR|DX)')
    if len(data.pattern) > 200:
        problems['pattern'] = N_('The pattern is too long (at most 200 characters)')
    if not 0 <= data.priors <= MAX_PRIORS:
        problems['priors'] = N_('Between 0 and {most} priors', most=MAX_PRIORS)
    if not 1 <= len(data.stages) <= MAX_STAGES:
        problems['stages'] = N_('Between 1 and {most} stages', most=MAX_STAGES)
    for n, stage in enumerate(data.stages, start=1):
        if 'stages' not in problems and (problem := _stage_problem(stage, n, data.priors)):
            problems['stages'] = problem
    if problems:
        first = next(iter(problems.values()))  # the notice says the first; each field shows its own
        raise InvalidInput(first.msgid, problems, **first.params)
    return data.model_copy(update={'modality': '|'.join(modalities)})


def parse_stages(value: Any) -> list[Stage]:
    """Stages from JSON-like data (the administrator's editor); InvalidInput saying where it is wrong."""
    try:
        return _STAGES.validate_python(value if isinstance(value, list) else [value])
    except ValidationError as error:
        first = error.errors()[0]
        loc = list(first['loc'])
        if loc and isinstance(loc[0], int):
            loc[0] = f'stage {loc[0] + 1}'
        if len(loc) > 2 and loc[1] == 'viewports' and isinstance(loc[2], int):
            loc[1:3] = [f'viewport {loc[2] + 1}']
        where = ' → '.join(str(part) for part in loc) or '-'
        raise InvalidInput(
            'The stages are not valid at {where}: {problem}',
            {'stages': N_('The stages are not valid at {where}: {problem}', where=where, problem=first['msg'])},
            where=where,
            problem=first['msg'],
        ) from None


# ---------------------------------------------------------------- private helpers


def _regions(study: StudyView) -> str:
    parts = ' '.join(sorted({s.body_part for s in study.series if s.body_part}))
    return f'{parts} {study.description}'


def _pick(rule: SeriesRule, shown: Sequence[SeriesView]) -> SeriesView | None:
    value = str(rule.value).strip()
    if rule.by == 'description':
        return next((s for s in shown if value and pattern_matches(value, s.description)), None)
    if rule.by == 'plane':
        return next((s for s in shown if s.plane == value.lower()), None)
    if rule.by == 'number':
        return next((s for s in shown if str(s.series_number) == value), None)
    index = int(value) if value.lstrip('-').isdigit() else 0
    return shown[index] if 0 <= index < len(shown) else None


def _stage_problem(stage: Stage, n: int, priors: int) -> Message | None:
    count = LAYOUTS[stage.layout]
    if len(stage.viewports) > count:
        return N_('Stage {stage}: the layout {layout} has {count} viewports, not {given}', stage=n,
                  layout=stage.layout, count=count, given=len(stage.viewports))  # fmt: skip
    for k, viewport in enumerate(stage.viewports, start=1):
        if viewport.preset and viewport.preset not in PRESET_NAMES:
            return N_('Stage {stage}, viewport {n}: no window preset is called {preset}', stage=n, n=k,
                      preset=viewport.preset)  # fmt: skip
        if viewport.prior > priors:
            return N_('Stage {stage}, viewport {n} shows prior {prior}, but the protocol opens {priors}', stage=n,
                      n=k, prior=viewport.prior, priors=priors)  # fmt: skip
        if viewport.series.by == 'plane' and str(viewport.series.value).lower() not in PLANES:
            return N_('Stage {stage}, viewport {n}: the plane is axial, coronal or sagittal', stage=n, n=k)
        if viewport.series.by in ('number', 'index') and not str(viewport.series.value).strip().isdigit():
            return N_('Stage {stage}, viewport {n}: the series number or index is a whole number', stage=n, n=k)
    return None
