"""The thyroid's dominant nodule as a draft sentence (for domain.draft_sentences): its ACR TI-RADS features with their
points, the level and what the chart advises at its size (domain.tirads), in the report's language.

Written only where the template collects the five features and the doctor filled all five; the location and the
size are said when given, and without a size a TR3 to TR5 nodule gets its level but no advice.
"""

from . import tirads
from .drafting import DraftContext
from .report_values import number_text, parse_number
from .template_library import L

# NOTE: the field keys of the thyroid template's nodule section (template_library.NODULE).
FIELDS = {feature: f'nodule_{feature}' for feature in tirads.FEATURES}
LOCATION = 'nodule_location'
DIAMETER = 'nodule_diameter'

NODULE = L('Dominant nodule', 'Доминантный узел', 'Nódulo dominante', 'Nodule dominant', 'Dominanter Knoten')
WHERE = {
    'right': L('in the right lobe', 'в правой доле', 'en el lóbulo derecho', 'dans le lobe droit', 'im rechten Lappen'),
    'left': L('in the left lobe', 'в левой доле', 'en el lóbulo izquierdo', 'dans le lobe gauche', 'im linken Lappen'),
    'isthmus': L('in the isthmus', 'в перешейке', 'en el istmo', 'dans l’isthme', 'im Isthmus'),
}
SIZE = L(', {mm} mm', ', {mm} мм', ', {mm} mm', ', {mm} mm', ', {mm} mm')
SENTENCE = L(
    '{nodule}: {features} — {score}{advice}.',
    '{nodule}: {features} — {score}{advice}.',
    '{nodule}: {features} — {score}{advice}.',
    '{nodule} : {features} — {score}{advice}.',
    '{nodule}: {features} — {score}{advice}.',
)
SCORE = L(
    'ACR TI-RADS score {total}{note}, TR{level} ({name})',
    'сумма баллов ACR TI-RADS {total}{note}, TR{level} ({name})',
    'puntuación ACR TI-RADS {total}{note}, TR{level} ({name})',
    'score ACR TI-RADS {total}{note}, TR{level} ({name})',
    'ACR-TI-RADS-Score {total}{note}, TR{level} ({name})',
)
SPONGIFORM = L(
    ' (spongiform: the other features add no points)',
    ' (губчатый узел: остальные признаки баллов не добавляют)',
    ' (espongiforme: las demás características no suman puntos)',
    ' (spongiforme : les autres caractéristiques n’ajoutent pas de points)',
    ' (spongiform: die übrigen Merkmale zählen nicht)',
)
LEVELS = {
    1: L('benign', 'доброкачественный', 'benigno', 'bénin', 'benigne'),
    2: L('not suspicious', 'неподозрительный', 'no sospechoso', 'non suspect', 'nicht suspekt'),
    3: L('mildly suspicious', 'малоподозрительный', 'levemente sospechoso', 'peu suspect', 'gering suspekt'),
    4: L(
        'moderately suspicious',
        'умеренно подозрительный',
        'moderadamente sospechoso',
        'modérément suspect',
        'mäßig suspekt',
    ),
    5: L('highly suspicious', 'высокоподозрительный', 'altamente sospechoso', 'hautement suspect', 'hochsuspekt'),
}
ADVICE = {
    'no-fna': L(
        '; no FNA needed',
        '; ТАБ не показана',
        '; no precisa PAAF',
        ' ; pas d’indication de cytoponction',
        '; keine Feinnadelpunktion erforderlich',
    ),
    'fna': L(
        '; FNA recommended (≥ {mm} mm)',
        '; рекомендована ТАБ (≥ {mm} мм)',
        '; se recomienda PAAF (≥ {mm} mm)',
        ' ; cytoponction recommandée (≥ {mm} mm)',
        '; Feinnadelpunktion empfohlen (≥ {mm} mm)',
    ),
    'follow-up': L(
        '; ultrasound follow-up recommended (≥ {mm} mm)',
        '; рекомендовано динамическое УЗ-наблюдение (≥ {mm} мм)',
        '; se recomienda control ecográfico (≥ {mm} mm)',
        ' ; surveillance échographique recommandée (≥ {mm} mm)',
        '; sonographische Verlaufskontrolle empfohlen (≥ {mm} mm)',
    ),
    'neither': L(
        '; neither FNA nor follow-up needed (< {mm} mm)',
        '; ТАБ и наблюдение не требуются (< {mm} мм)',
        '; no precisa PAAF ni control (< {mm} mm)',
        ' ; ni cytoponction ni surveillance nécessaires (< {mm} mm)',
        '; weder Punktion noch Verlaufskontrolle erforderlich (< {mm} mm)',
    ),
}
# Each feature's value as it reads in a sentence about the nodule (tirads.POINTS has the same values).
FEATURE_TEXT: dict[str, dict[str, dict[str, str]]] = {
    'composition': {
        'cystic': L(
            'cystic or almost completely cystic',
            'кистозный или почти полностью кистозный',
            'quístico o casi completamente quístico',
            'kystique ou presque entièrement kystique',
            'zystisch oder fast vollständig zystisch',
        ),
        'spongiform': L('spongiform', 'губчатый', 'espongiforme', 'spongiforme', 'spongiform'),
        'mixed': L(
            'mixed cystic and solid',
            'смешанный кистозно-солидный',
            'mixto quístico y sólido',
            'mixte kystique et solide',
            'gemischt zystisch-solide',
        ),
        'solid': L(
            'solid or almost completely solid',
            'солидный или почти полностью солидный',
            'sólido o casi completamente sólido',
            'solide ou presque entièrement solide',
            'solide oder fast vollständig solide',
        ),
    },
    'echogenicity': {
        'anechoic': L('anechoic', 'анэхогенный', 'anecoico', 'anéchogène', 'echofrei'),
        'iso_hyper': L(
            'hyperechoic or isoechoic',
            'гиперэхогенный или изоэхогенный',
            'hiperecoico o isoecoico',
            'hyperéchogène ou isoéchogène',
            'echoreich oder echogleich',
        ),
        'hypo': L('hypoechoic', 'гипоэхогенный', 'hipoecoico', 'hypoéchogène', 'echoarm'),
        'very_hypo': L(
            'very hypoechoic', 'выраженно гипоэхогенный', 'muy hipoecoico', 'très hypoéchogène', 'sehr echoarm'
        ),
    },
    'shape': {
        'wider': L(
            'wider-than-tall',
            'горизонтально ориентированный',
            'más ancho que alto',
            'plus large que haut',
            'breiter als hoch',
        ),
        'taller': L(
            'taller-than-wide',
            'вертикально ориентированный',
            'más alto que ancho',
            'plus haut que large',
            'höher als breit',
        ),
    },
    'margin': {
        'smooth': L(
            'smooth margin', 'с ровным контуром', 'de márgenes lisos', 'à contours réguliers', 'glatt begrenzt'
        ),
        'ill_defined': L(
            'ill-defined margin',
            'с нечётким контуром',
            'de márgenes mal definidos',
            'à contours mal définis',
            'unscharf begrenzt',
        ),
        'lobulated_irregular': L(
            'lobulated or irregular margin',
            'с дольчатым или неровным контуром',
            'de márgenes lobulados o irregulares',
            'à contours lobulés ou irréguliers',
            'lobuliert oder unregelmäßig begrenzt',
        ),
        'extrathyroidal': L(
            'extra-thyroidal extension',
            'с экстратиреоидным распространением',
            'con extensión extratiroidea',
            'avec extension extrathyroïdienne',
            'mit extrathyreoidaler Ausbreitung',
        ),
    },
    'foci': {
        'none': L(
            'no echogenic foci or only large comet-tail artifacts',
            'без эхогенных включений или только с крупными артефактами «хвост кометы»',
            'sin focos ecogénicos o solo con grandes artefactos en cola de cometa',
            'sans foyer échogène ou avec seulement de grands artefacts en queue de comète',
            'ohne echogene Foci oder nur mit großen Kometenschweifartefakten',
        ),
        'macro': L(
            'with macrocalcifications',
            'с макрокальцинатами',
            'con macrocalcificaciones',
            'avec macrocalcifications',
            'mit Makroverkalkungen',
        ),
        'rim': L(
            'with peripheral (rim) calcifications',
            'с периферическими (ободковыми) кальцинатами',
            'con calcificaciones periféricas (en anillo)',
            'avec calcifications périphériques (en coquille)',
            'mit peripheren (Rand-)Verkalkungen',
        ),
        'punctate': L(
            'with punctate echogenic foci',
            'с точечными эхогенными включениями',
            'con focos ecogénicos puntiformes',
            'avec foyers échogènes ponctués',
            'mit punktförmigen echogenen Foci',
        ),
    },
}


def sentences(context: DraftContext) -> list[str]:
    """The dominant nodule's sentence, where the template collects the five features and all five are filled."""
    if not set(FIELDS.values()) <= {spec.key for spec in context.template.fields()}:
        return []
    chosen = {feature: str(context.values.get(key) or '') for feature, key in FIELDS.items()}
    diameter = parse_number(context.values.get(DIAMETER))
    diameter = diameter if diameter is not None and diameter > 0 else None
    result = tirads.assess(chosen, diameter)
    if result is None:
        return []
    language = context.language
    nodule = _pick(NODULE, language)
    if where := WHERE.get(str(context.values.get(LOCATION) or '')):
        nodule += f' {_pick(where, language)}'
    if diameter is not None:
        nodule += _pick(SIZE, language).format(mm=number_text(diameter))
    features = ', '.join(
        f'{_pick(FEATURE_TEXT[feature][chosen[feature]], language)} ({result.points[feature]})'
        for feature in tirads.FEATURES
    )
    score = _pick(SCORE, language).format(
        total=result.total,
        note=_pick(SPONGIFORM, language) if chosen['composition'] == 'spongiform' else '',
        level=result.level,
        name=_pick(LEVELS[result.level], language),
    )
    advice = (
        ''
        if result.advice is None
        else _pick(ADVICE[result.advice], language).format(mm=number_text(result.threshold_mm))
    )
    return [_pick(SENTENCE, language).format(nodule=nodule, features=features, score=score, advice=advice)]


def _pick(texts: dict[str, str], language: str) -> str:
    return texts.get(language, texts['en'])
