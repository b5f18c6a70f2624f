"""The shipped draft plug-in: the report's structured values written out as sentences, in the report's language.

- Obstetric biometry (a template with the Hadlock calculator): the measurements, the gestational age by ultrasound
  with the measurements it rests on, the estimated fetal weight and the due date; the impression names the age.
  (Weight centiles need the age by dates, which the templates do not collect, so none is given.)
- A thyroid nodule (a template with the ACR TI-RADS features, domain.draft_thyroid): its features with their points,
  the TR level and the advice for its size, once all five features are filled.
- Any template: each number outside its normal range as a sentence saying so, with the range.
Nothing is guessed: a sentence is only written from values the doctor (or the scanner's SR) entered.
"""

from typing import Any

from . import draft_thyroid, obstetrics
from .drafting import DraftContext, Suggestion, register
from .report_values import flags, normal_range, number_text, parse_number
from .templates import label as pick_label

SENTENCES: dict[str, dict[str, str]] = {
    'biometry': {
        'en': 'Fetal biometry: {list}.',
        'ru': 'Фетометрия: {list}.',
        'es': 'Biometría fetal: {list}.',
        'fr': 'Biométrie fœtale : {list}.',
        'de': 'Fetale Biometrie: {list}.',
    },
    'age': {
        'en': 'Gestational age by ultrasound (Hadlock, {method}): {age}.',
        'ru': 'Срок беременности по УЗИ (Hadlock, {method}): {age}.',
        'es': 'Edad gestacional por ecografía (Hadlock, {method}): {age}.',
        'fr': 'Âge gestationnel échographique (Hadlock, {method}) : {age}.',
        'de': 'Gestationsalter nach Ultraschall (Hadlock, {method}): {age}.',
    },
    'weight': {
        'en': 'Estimated fetal weight (Hadlock): {grams} g.',
        'ru': 'Предполагаемая масса плода (Hadlock): {grams} г.',
        'es': 'Peso fetal estimado (Hadlock): {grams} g.',
        'fr': 'Poids fœtal estimé (Hadlock) : {grams} g.',
        'de': 'Geschätztes Fetalgewicht (Hadlock): {grams} g.',
    },
    'due': {
        'en': 'Estimated date of delivery: {date}.',
        'ru': 'Предполагаемая дата родов: {date}.',
        'es': 'Fecha probable de parto: {date}.',
        'fr': 'Date prévue d’accouchement : {date}.',
        'de': 'Errechneter Geburtstermin: {date}.',
    },
    'impression_age': {
        'en': 'Fetal biometry corresponds to {age} (Hadlock).',
        'ru': 'Фетометрия соответствует сроку {age} (Hadlock).',
        'es': 'La biometría fetal corresponde a {age} (Hadlock).',
        'fr': 'Biométrie fœtale correspondant à {age} (Hadlock).',
        'de': 'Die fetale Biometrie entspricht {age} (Hadlock).',
    },
    'above': {
        'en': '{label}: {value}, above the normal range ({range}).',
        'ru': '{label}: {value}, выше нормы ({range}).',
        'es': '{label}: {value}, por encima del rango normal ({range}).',
        'fr': '{label} : {value}, au-dessus des valeurs normales ({range}).',
        'de': '{label}: {value}, oberhalb des Normbereichs ({range}).',
    },
    'below': {
        'en': '{label}: {value}, below the normal range ({range}).',
        'ru': '{label}: {value}, ниже нормы ({range}).',
        'es': '{label}: {value}, por debajo del rango normal ({range}).',
        'fr': '{label} : {value}, en dessous des valeurs normales ({range}).',
        'de': '{label}: {value}, unterhalb des Normbereichs ({range}).',
    },
}


class MeasurementSentences:
    """Structured values into sentences (the shipped plug-in)."""

    def __init__(self) -> None:
        self.name = 'measurements'
        self.title = {
            'en': 'Sentences from the measurements',
            'ru': 'Текст по измерениям',
            'es': 'Frases a partir de las mediciones',
            'fr': 'Phrases tirées des mesures',
            'de': 'Sätze aus den Messwerten',
        }

    def suggest(self, context: DraftContext) -> Suggestion | None:
        findings: list[str] = []
        impression: list[str] = []
        if context.template.calculator == 'hadlock':
            findings, impression = _biometry(context)
        findings += draft_thyroid.sentences(context)
        findings += _out_of_range(context)
        if not findings and not impression:
            return None
        return Suggestion(self.name, findings=findings, impression=impression)


def _biometry(context: DraftContext) -> tuple[list[str], list[str]]:
    language = context.language
    numbers = {key: parse_number(context.values.get(key)) for key in ('bpd', 'hc', 'ac', 'fl')}
    measured = [f'{key.upper()} {number_text(value)} mm' for key, value in numbers.items() if value is not None]
    if not measured:
        return [], []
    result = obstetrics.biometry(
        numbers['bpd'], numbers['hc'], numbers['ac'], numbers['fl'], exam_date=context.study_date
    )
    findings = [_say('biometry', language, list=', '.join(measured))]
    impression = []
    if result.ga_days is not None:
        findings.append(_say('age', language, method=result.method, age=result.ga_text))
        impression.append(_say('impression_age', language, age=result.ga_text))
    if result.efw_grams is not None:
        findings.append(_say('weight', language, grams=result.efw_grams))
    if result.edd is not None:
        findings.append(_say('due', language, date=result.edd.isoformat()))
    return findings, impression


def _out_of_range(context: DraftContext) -> list[str]:
    """A sentence for each number the editor flags as outside its normal range (report_values.flags)."""
    specs = {spec.key: spec for spec in context.template.fields()}
    sentences = []
    for flag in flags(context.template, context.values):
        value = parse_number(flag.value)
        if flag.kind != 'out-of-range' or value is None or flag.high is None:
            continue
        spec = specs[flag.key]
        sentences.append(
            _say(
                'above' if value > flag.high else 'below',
                context.language,
                label=pick_label(spec.label, context.language),
                value=f'{number_text(value)} {spec.unit}'.strip(),
                range=f'{normal_range(spec)} {spec.unit}'.strip(),
            )
        )
    return sentences


def _say(key: str, language: str, **values: Any) -> str:
    texts = SENTENCES[key]
    return texts.get(language, texts['en']).format(**values)


register(MeasurementSentences())
