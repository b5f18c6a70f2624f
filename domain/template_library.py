"""The report templates the clinic ships with, as data (seeded once; the admin edits create new versions).

Every label is given in English, Russian, Spanish, French and German, in that order. Number fields are
in the unit the scanners measure in; `normal` is the inclusive range printed beside the value.
"""

from typing import Any

LANGS = ('en', 'ru', 'es', 'fr', 'de')


def L(*texts: str) -> dict[str, str]:
    """A label in the five languages, English first."""
    return dict(zip(LANGS, texts, strict=True))


def number(
    key: str,
    label: dict[str, str],
    unit: str,
    normal: tuple[float, float] | None = None,
    *,
    required: bool = False,
    aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        'key': key,
        'label': label,
        'type': 'number',
        'unit': unit,
        'normal': list(normal) if normal else None,
        'required': required,
        'aliases': list(aliases),
    }


def choice(
    key: str, label: dict[str, str], options: list[tuple[str, dict[str, str]]], *, required: bool = False
) -> dict[str, Any]:
    return {
        'key': key,
        'label': label,
        'type': 'choice',
        'required': required,
        'choices': [{'value': value, 'label': text} for value, text in options],
    }


def text(key: str, label: dict[str, str], *, required: bool = False) -> dict[str, Any]:
    return {'key': key, 'label': label, 'type': 'text', 'required': required}


def computed(key: str, label: dict[str, str], unit: str = '') -> dict[str, Any]:
    return {'key': key, 'label': label, 'type': 'computed', 'unit': unit}


ECHO = [
    ('normal', L('normal', 'обычная', 'normal', 'normale', 'normal')),
    ('increased', L('increased', 'повышена', 'aumentada', 'augmentée', 'erhöht')),
    ('decreased', L('decreased', 'понижена', 'disminuida', 'diminuée', 'vermindert')),
    ('heterogeneous', L('heterogeneous', 'неоднородная', 'heterogénea', 'hétérogène', 'inhomogen')),
]
YES_NO = [('no', L('no', 'нет', 'no', 'non', 'nein')), ('yes', L('yes', 'да', 'sí', 'oui', 'ja'))]
ECHOGENICITY = L('Echogenicity', 'Эхогенность', 'Ecogenicidad', 'Échogénicité', 'Echogenität')


def section(
    key: str, label: dict[str, str], fields: list[dict[str, Any]], normal_text: dict[str, str] | None = None
) -> dict[str, Any]:
    return {'key': key, 'label': label, 'fields': fields, 'normal_text': normal_text or {}}


ABDOMEN = {
    'sections': [
        section(
            'liver',
            L('Liver', 'Печень', 'Hígado', 'Foie', 'Leber'),
            [
                number(
                    'liver_right_lobe',
                    L('Right lobe', 'Правая доля', 'Lóbulo derecho', 'Lobe droit', 'Rechter Lappen'),
                    'mm',
                    (0, 150),
                    required=True,
                    aliases=('liver', 'right lobe', 'RL'),
                ),
                choice('liver_echo', ECHOGENICITY, ECHO),
            ],
            L(
                'The liver is of normal size and echotexture without focal lesions.',
                'Печень обычных размеров и структуры, без очаговых изменений.',
                'Hígado de tamaño y ecoestructura normales, sin lesiones focales.',
                'Foie de taille et d’échostructure normales, sans lésion focale.',
                'Leber normal groß, homogen, ohne fokale Läsionen.',
            ),
        ),
        section(
            'gallbladder',
            L('Gallbladder', 'Желчный пузырь', 'Vesícula biliar', 'Vésicule biliaire', 'Gallenblase'),
            [
                number('gb_wall', L('Wall', 'Стенка', 'Pared', 'Paroi', 'Wand'), 'mm', (0, 3), aliases=('GB wall',)),
                choice('gb_stones', L('Stones', 'Конкременты', 'Cálculos', 'Calculs', 'Steine'), YES_NO),
            ],
            L(
                'Thin-walled gallbladder without stones.',
                'Желчный пузырь с тонкой стенкой, без конкрементов.',
                'Vesícula de pared fina sin cálculos.',
                'Vésicule à paroi fine, alithiasique.',
                'Zartwandige Gallenblase ohne Konkremente.',
            ),
        ),
        section(
            'pancreas',
            L('Pancreas', 'Поджелудочная железа', 'Páncreas', 'Pancréas', 'Pankreas'),
            [
                number('pancreas_head', L('Head', 'Головка', 'Cabeza', 'Tête', 'Kopf'), 'mm', (0, 32)),
            ],
        ),
        section(
            'spleen',
            L('Spleen', 'Селезёнка', 'Bazo', 'Rate', 'Milz'),
            [
                number(
                    'spleen_length',
                    L('Length', 'Длина', 'Longitud', 'Longueur', 'Länge'),
                    'mm',
                    (0, 120),
                    aliases=('spleen',),
                ),
            ],
        ),
        section(
            'kidneys',
            L('Kidneys', 'Почки', 'Riñones', 'Reins', 'Nieren'),
            [
                number(
                    'kidney_right',
                    L('Right kidney', 'Правая почка', 'Riñón derecho', 'Rein droit', 'Niere rechts'),
                    'mm',
                    (100, 120),
                    aliases=('RK', 'right kidney'),
                ),
                number(
                    'kidney_left',
                    L('Left kidney', 'Левая почка', 'Riñón izquierdo', 'Rein gauche', 'Niere links'),
                    'mm',
                    (100, 120),
                    aliases=('LK', 'left kidney'),
                ),
            ],
        ),
    ],
}

PELVIS = {
    'sections': [
        section(
            'uterus',
            L('Uterus', 'Матка', 'Útero', 'Utérus', 'Uterus'),
            [
                number(
                    'uterus_length',
                    L('Length', 'Длина', 'Longitud', 'Longueur', 'Länge'),
                    'mm',
                    (45, 90),
                    required=True,
                ),
                number(
                    'endometrium',
                    L('Endometrium', 'Эндометрий', 'Endometrio', 'Endomètre', 'Endometrium'),
                    'mm',
                    (2, 16),
                    aliases=('endo',),
                ),
            ],
        ),
        section(
            'ovaries',
            L('Ovaries', 'Яичники', 'Ovarios', 'Ovaires', 'Ovarien'),
            [
                number(
                    'ovary_right',
                    L('Right ovary', 'Правый яичник', 'Ovario derecho', 'Ovaire droit', 'Ovar rechts'),
                    'mm',
                    (20, 40),
                ),
                number(
                    'ovary_left',
                    L('Left ovary', 'Левый яичник', 'Ovario izquierdo', 'Ovaire gauche', 'Ovar links'),
                    'mm',
                    (20, 40),
                ),
                choice(
                    'free_fluid',
                    L('Free fluid', 'Свободная жидкость', 'Líquido libre', 'Liquide libre', 'Freie Flüssigkeit'),
                    YES_NO,
                ),
            ],
        ),
    ],
}

OBSTETRICS = {
    'calculator': 'hadlock',
    'sections': [
        section(
            'biometry',
            L('Fetal biometry', 'Фетометрия', 'Biometría fetal', 'Biométrie fœtale', 'Fetale Biometrie'),
            [
                number(
                    'bpd',
                    L(
                        'Biparietal diameter (BPD)',
                        'Бипариетальный размер (БПР)',
                        'Diámetro biparietal (DBP)',
                        'Diamètre bipariétal (BIP)',
                        'Biparietaler Durchmesser (BPD)',
                    ),
                    'mm',
                    (10, 105),
                    required=True,
                    aliases=('BPD', 'BIP', 'DBP'),
                ),
                number(
                    'hc',
                    L(
                        'Head circumference (HC)',
                        'Окружность головы (ОГ)',
                        'Circunferencia cefálica (CC)',
                        'Périmètre crânien (PC)',
                        'Kopfumfang (KU)',
                    ),
                    'mm',
                    (50, 380),
                    required=True,
                    aliases=('HC', 'KU', 'PC', 'CC'),
                ),
                number(
                    'ac',
                    L(
                        'Abdominal circumference (AC)',
                        'Окружность живота (ОЖ)',
                        'Circunferencia abdominal (CA)',
                        'Périmètre abdominal (PA)',
                        'Abdomenumfang (AU)',
                    ),
                    'mm',
                    (40, 400),
                    required=True,
                    aliases=('AC', 'AU', 'PA', 'CA'),
                ),
                number(
                    'fl',
                    L(
                        'Femur length (FL)',
                        'Длина бедра (ДБ)',
                        'Longitud femoral (LF)',
                        'Longueur fémorale (LF)',
                        'Femurlänge (FL)',
                    ),
                    'mm',
                    (5, 85),
                    required=True,
                    aliases=('FL', 'LF'),
                ),
                computed(
                    'ga',
                    L(
                        'Gestational age (Hadlock)',
                        'Срок беременности (Hadlock)',
                        'Edad gestacional (Hadlock)',
                        'Âge gestationnel (Hadlock)',
                        'Gestationsalter (Hadlock)',
                    ),
                ),
                computed(
                    'efw',
                    L(
                        'Estimated fetal weight (Hadlock)',
                        'Предполагаемая масса плода (Hadlock)',
                        'Peso fetal estimado (Hadlock)',
                        'Poids fœtal estimé (Hadlock)',
                        'Geschätztes Fetalgewicht (Hadlock)',
                    ),
                    'g',
                ),
                computed(
                    'edd',
                    L(
                        'Estimated date of delivery',
                        'Предполагаемая дата родов',
                        'Fecha probable de parto',
                        'Date prévue d’accouchement',
                        'Errechneter Geburtstermin',
                    ),
                ),
            ],
        ),
        section(
            'fetus',
            L('Fetus', 'Плод', 'Feto', 'Fœtus', 'Fetus'),
            [
                number(
                    'fhr',
                    L(
                        'Fetal heart rate',
                        'ЧСС плода',
                        'Frecuencia cardiaca fetal',
                        'Rythme cardiaque fœtal',
                        'Fetale Herzfrequenz',
                    ),
                    'bpm',
                    (110, 160),
                    aliases=('FHR',),
                ),
                choice(
                    'presentation',
                    L('Presentation', 'Предлежание', 'Presentación', 'Présentation', 'Lage'),
                    [
                        ('cephalic', L('cephalic', 'головное', 'cefálica', 'céphalique', 'Schädellage')),
                        ('breech', L('breech', 'тазовое', 'podálica', 'siège', 'Beckenendlage')),
                        ('transverse', L('transverse', 'поперечное', 'transversa', 'transverse', 'Querlage')),
                    ],
                ),
                choice(
                    'placenta',
                    L('Placenta', 'Плацента', 'Placenta', 'Placenta', 'Plazenta'),
                    [
                        ('anterior', L('anterior', 'по передней стенке', 'anterior', 'antérieur', 'Vorderwand')),
                        ('posterior', L('posterior', 'по задней стенке', 'posterior', 'postérieur', 'Hinterwand')),
                        ('fundal', L('fundal', 'в дне', 'fúndica', 'fundique', 'Fundus')),
                        ('previa', L('previa', 'предлежание', 'previa', 'prævia', 'Praevia')),
                    ],
                ),
            ],
        ),
    ],
}

NODULE = section(  # the scored features of ACR TI-RADS (domain/tirads.py); left blank for a thyroid without nodules
    'nodule',
    L(
        'Dominant nodule (ACR TI-RADS)',
        'Доминантный узел (ACR TI-RADS)',
        'Nódulo dominante (ACR TI-RADS)',
        'Nodule dominant (ACR TI-RADS)',
        'Dominanter Knoten (ACR TI-RADS)',
    ),
    [
        choice(
            'nodule_location',
            L('Location', 'Локализация', 'Localización', 'Localisation', 'Lage'),
            [
                ('right', L('right lobe', 'правая доля', 'lóbulo derecho', 'lobe droit', 'rechter Lappen')),
                ('left', L('left lobe', 'левая доля', 'lóbulo izquierdo', 'lobe gauche', 'linker Lappen')),
                ('isthmus', L('isthmus', 'перешеек', 'istmo', 'isthme', 'Isthmus')),
            ],
        ),
        number(
            'nodule_diameter',
            L(
                'Maximum diameter',
                'Максимальный размер',
                'Diámetro máximo',
                'Diamètre maximal',
                'Maximaler Durchmesser',
            ),
            'mm',
        ),
        # NOTE: the choice values are the keys of tirads.POINTS; a new value needs its points there.
        choice(
            'nodule_composition',
            L('Composition', 'Структура', 'Composición', 'Composition', 'Zusammensetzung'),
            [
                (
                    'cystic',
                    L(
                        'cystic or almost completely cystic',
                        'кистозный или почти полностью кистозный',
                        'quístico o casi completamente quístico',
                        'kystique ou presque entièrement kystique',
                        'zystisch oder fast vollständig zystisch',
                    ),
                ),
                ('spongiform', L('spongiform', 'губчатый', 'espongiforme', 'spongiforme', 'spongiform')),
                (
                    'mixed',
                    L(
                        'mixed cystic and solid',
                        'смешанный кистозно-солидный',
                        'mixto quístico y sólido',
                        'mixte kystique et solide',
                        'gemischt zystisch-solide',
                    ),
                ),
                (
                    'solid',
                    L(
                        'solid or almost completely solid',
                        'солидный или почти полностью солидный',
                        'sólido o casi completamente sólido',
                        'solide ou presque entièrement solide',
                        'solide oder fast vollständig solide',
                    ),
                ),
            ],
        ),
        choice(
            'nodule_echogenicity',
            ECHOGENICITY,
            [
                ('anechoic', L('anechoic', 'анэхогенный', 'anecoico', 'anéchogène', 'echofrei')),
                (
                    'iso_hyper',
                    L(
                        'hyperechoic or isoechoic',
                        'гиперэхогенный или изоэхогенный',
                        'hiperecoico o isoecoico',
                        'hyperéchogène ou isoéchogène',
                        'echoreich oder echogleich',
                    ),
                ),
                ('hypo', L('hypoechoic', 'гипоэхогенный', 'hipoecoico', 'hypoéchogène', 'echoarm')),
                (
                    'very_hypo',
                    L(
                        'very hypoechoic',
                        'выраженно гипоэхогенный',
                        'muy hipoecoico',
                        'très hypoéchogène',
                        'sehr echoarm',
                    ),
                ),
            ],
        ),
        choice(
            'nodule_shape',
            L('Shape', 'Форма', 'Forma', 'Forme', 'Form'),
            [
                (
                    'wider',
                    L(
                        'wider-than-tall',
                        'ширина больше высоты',
                        'más ancho que alto',
                        'plus large que haut',
                        'breiter als hoch',
                    ),
                ),
                (
                    'taller',
                    L(
                        'taller-than-wide',
                        'высота больше ширины',
                        'más alto que ancho',
                        'plus haut que large',
                        'höher als breit',
                    ),
                ),
            ],
        ),
        choice(
            'nodule_margin',
            L('Margin', 'Контур', 'Márgenes', 'Contours', 'Rand'),
            [
                ('smooth', L('smooth', 'ровный', 'lisos', 'réguliers', 'glatt')),
                ('ill_defined', L('ill-defined', 'нечёткий', 'mal definidos', 'mal définis', 'unscharf')),
                (
                    'lobulated_irregular',
                    L(
                        'lobulated or irregular',
                        'дольчатый или неровный',
                        'lobulados o irregulares',
                        'lobulés ou irréguliers',
                        'lobuliert oder unregelmäßig',
                    ),
                ),
                (
                    'extrathyroidal',
                    L(
                        'extra-thyroidal extension',
                        'экстратиреоидное распространение',
                        'extensión extratiroidea',
                        'extension extrathyroïdienne',
                        'extrathyreoidale Ausbreitung',
                    ),
                ),
            ],
        ),
        choice(
            'nodule_foci',
            L('Echogenic foci', 'Эхогенные включения', 'Focos ecogénicos', 'Foyers échogènes', 'Echogene Foci'),
            [
                (
                    'none',
                    L(
                        'none or large comet-tail artifacts',
                        'нет или крупные артефакты «хвост кометы»',
                        'ninguno o artefactos grandes en cola de cometa',
                        'aucun ou grands artefacts en queue de comète',
                        'keine oder große Kometenschweifartefakte',
                    ),
                ),
                (
                    'macro',
                    L(
                        'macrocalcifications',
                        'макрокальцинаты',
                        'macrocalcificaciones',
                        'macrocalcifications',
                        'Makroverkalkungen',
                    ),
                ),
                (
                    'rim',
                    L(
                        'peripheral (rim) calcifications',
                        'периферические (ободковые) кальцинаты',
                        'calcificaciones periféricas (en anillo)',
                        'calcifications périphériques (en coquille)',
                        'periphere (Rand-)Verkalkungen',
                    ),
                ),
                (
                    'punctate',
                    L(
                        'punctate echogenic foci',
                        'точечные эхогенные включения',
                        'focos ecogénicos puntiformes',
                        'foyers échogènes ponctués',
                        'punktförmige echogene Foci',
                    ),
                ),
            ],
        ),
    ],
)

THYROID = {
    'sections': [
        section(
            'thyroid',
            L('Thyroid', 'Щитовидная железа', 'Tiroides', 'Thyroïde', 'Schilddrüse'),
            [
                number(
                    'right_lobe_volume',
                    L(
                        'Right lobe volume',
                        'Объём правой доли',
                        'Volumen lóbulo derecho',
                        'Volume du lobe droit',
                        'Volumen rechter Lappen',
                    ),
                    'ml',
                    (0, 10),
                ),
                number(
                    'left_lobe_volume',
                    L(
                        'Left lobe volume',
                        'Объём левой доли',
                        'Volumen lóbulo izquierdo',
                        'Volume du lobe gauche',
                        'Volumen linker Lappen',
                    ),
                    'ml',
                    (0, 10),
                ),
                number('isthmus', L('Isthmus', 'Перешеек', 'Istmo', 'Isthme', 'Isthmus'), 'mm', (0, 5)),
                choice('thyroid_echo', ECHOGENICITY, ECHO),
                choice('nodules', L('Nodules', 'Узлы', 'Nódulos', 'Nodules', 'Knoten'), YES_NO, required=True),
            ],
            L(
                'Thyroid of normal size and echotexture, no nodules.',
                'Щитовидная железа обычных размеров и структуры, узлов нет.',
                'Tiroides de tamaño y ecoestructura normales, sin nódulos.',
                'Thyroïde de taille et d’échostructure normales, sans nodule.',
                'Schilddrüse normal groß und homogen, keine Knoten.',
            ),
        ),
        NODULE,
    ],
}

CHEST = {
    'sections': [
        section(
            'chest',
            L('Chest', 'Грудная клетка', 'Tórax', 'Thorax', 'Thorax'),
            [
                number(
                    'ctr',
                    L(
                        'Cardiothoracic ratio',
                        'Кардиоторакальный индекс',
                        'Índice cardiotorácico',
                        'Index cardiothoracique',
                        'Herz-Thorax-Quotient',
                    ),
                    '',
                    (0, 0.5),
                    aliases=('CTR',),
                ),
                choice(
                    'lungs',
                    L('Lung fields', 'Лёгочные поля', 'Campos pulmonares', 'Champs pulmonaires', 'Lungenfelder'),
                    [
                        ('clear', L('clear', 'без очаговых теней', 'limpios', 'clairs', 'frei')),
                        ('opacity', L('opacity', 'затемнение', 'opacidad', 'opacité', 'Verschattung')),
                    ],
                    required=True,
                ),
                choice(
                    'effusion',
                    L(
                        'Pleural effusion',
                        'Плевральный выпот',
                        'Derrame pleural',
                        'Épanchement pleural',
                        'Pleuraerguss',
                    ),
                    YES_NO,
                ),
            ],
            L(
                'Lungs clear. Heart size normal. No pleural effusion.',
                'Лёгкие без очаговых и инфильтративных изменений. Сердце не расширено. Выпота нет.',
                'Pulmones limpios. Corazón de tamaño normal. Sin derrame pleural.',
                'Poumons clairs. Cœur de taille normale. Pas d’épanchement pleural.',
                'Lunge frei. Herz normal groß. Kein Pleuraerguss.',
            ),
        ),
    ],
}

CT_HEAD = {
    'sections': [
        section(
            'brain',
            L('Brain', 'Головной мозг', 'Cerebro', 'Cerveau', 'Gehirn'),
            [
                number(
                    'midline_shift',
                    L(
                        'Midline shift',
                        'Смещение срединных структур',
                        'Desviación de línea media',
                        'Déviation de la ligne médiane',
                        'Mittellinienverlagerung',
                    ),
                    'mm',
                    (0, 0),
                ),
                choice(
                    'haemorrhage',
                    L('Haemorrhage', 'Кровоизлияние', 'Hemorragia', 'Hémorragie', 'Blutung'),
                    YES_NO,
                    required=True,
                ),
                choice(
                    'ventricles',
                    L('Ventricles', 'Желудочки', 'Ventrículos', 'Ventricules', 'Ventrikel'),
                    [
                        ('normal', L('normal', 'не расширены', 'normales', 'normaux', 'normal weit')),
                        ('dilated', L('dilated', 'расширены', 'dilatados', 'dilatés', 'erweitert')),
                    ],
                ),
            ],
            L(
                'No intracranial haemorrhage, mass effect or midline shift.',
                'Внутричерепного кровоизлияния, масс-эффекта и смещения срединных структур нет.',
                'Sin hemorragia intracraneal, efecto de masa ni desviación de la línea media.',
                'Pas d’hémorragie intracrânienne, d’effet de masse ni de déviation de la ligne médiane.',
                'Keine intrakranielle Blutung, keine Raumforderung, keine Mittellinienverlagerung.',
            ),
        ),
    ],
}

FREE: dict[str, Any] = {'sections': []}

NORMAL_IMPRESSION = L(
    'No abnormality detected.',
    'Патологии не выявлено.',
    'Sin hallazgos patológicos.',
    'Pas d’anomalie décelée.',
    'Kein pathologischer Befund.',
)

SHIPPED: list[dict[str, Any]] = [
    {
        'code': 'us-abdomen',
        'modality': 'US',
        'definition': ABDOMEN,
        'name': L(
            'Ultrasound abdomen',
            'УЗИ брюшной полости',
            'Ecografía abdominal',
            'Échographie abdominale',
            'Sonographie Abdomen',
        ),
    },
    {
        'code': 'us-pelvis',
        'modality': 'US',
        'definition': PELVIS,
        'name': L(
            'Ultrasound pelvis',
            'УЗИ органов малого таза',
            'Ecografía pélvica',
            'Échographie pelvienne',
            'Sonographie Becken',
        ),
    },
    {
        'code': 'us-obstetrics',
        'modality': 'US',
        'definition': OBSTETRICS,
        'name': L(
            'Obstetric ultrasound',
            'Акушерское УЗИ',
            'Ecografía obstétrica',
            'Échographie obstétricale',
            'Geburtshilflicher Ultraschall',
        ),
    },
    {
        'code': 'us-thyroid',
        'modality': 'US',
        'definition': THYROID,
        'name': L(
            'Ultrasound thyroid',
            'УЗИ щитовидной железы',
            'Ecografía tiroidea',
            'Échographie thyroïdienne',
            'Sonographie Schilddrüse',
        ),
    },
    {
        'code': 'xr-chest',
        'modality': 'CR',
        'definition': CHEST,
        'name': L(
            'Chest X-ray',
            'Рентгенография грудной клетки',
            'Radiografía de tórax',
            'Radiographie thoracique',
            'Röntgen Thorax',
        ),
    },
    {
        'code': 'ct-head',
        'modality': 'CT',
        'definition': CT_HEAD,
        'name': L('CT head', 'КТ головного мозга', 'TC de cráneo', 'Scanner cérébral', 'CT Schädel'),
    },
    {
        'code': 'free',
        'modality': '',
        'definition': FREE,
        'name': L(
            'Free-form report', 'Произвольное заключение', 'Informe libre', 'Compte rendu libre', 'Freier Befund'
        ),
    },
]
for shipped in SHIPPED:
    shipped['definition'] = {**shipped['definition'], 'name': shipped['name'], 'impression_normal': NORMAL_IMPRESSION}
