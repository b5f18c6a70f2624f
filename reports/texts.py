"""The fixed texts printed on a report, in the five report languages (tests/test_i18n.py checks all five are there)."""

TEXTS: dict[str, dict[str, str]] = {
    'report': {
        'en': 'Imaging report',
        'ru': 'Протокол исследования',
        'es': 'Informe de imagen',
        'fr': 'Compte rendu d’imagerie',
        'de': 'Befundbericht',
    },
    'patient': {'en': 'Patient', 'ru': 'Пациент', 'es': 'Paciente', 'fr': 'Patient', 'de': 'Patient'},
    'patient_id': {
        'en': 'Patient ID',
        'ru': 'ID пациента',
        'es': 'ID de paciente',
        'fr': 'N° patient',
        'de': 'Patienten-ID',
    },
    'birth_date': {
        'en': 'Date of birth',
        'ru': 'Дата рождения',
        'es': 'Fecha de nacimiento',
        'fr': 'Date de naissance',
        'de': 'Geburtsdatum',
    },
    'sex': {'en': 'Sex', 'ru': 'Пол', 'es': 'Sexo', 'fr': 'Sexe', 'de': 'Geschlecht'},
    'study': {'en': 'Examination', 'ru': 'Исследование', 'es': 'Estudio', 'fr': 'Examen', 'de': 'Untersuchung'},
    'study_date': {'en': 'Date', 'ru': 'Дата', 'es': 'Fecha', 'fr': 'Date', 'de': 'Datum'},
    'accession': {
        'en': 'Accession number',
        'ru': 'Номер направления',
        'es': 'Número de acceso',
        'fr': 'N° d’examen',
        'de': 'Auftragsnummer',
    },
    'referrer': {
        'en': 'Referring physician',
        'ru': 'Направивший врач',
        'es': 'Médico remitente',
        'fr': 'Médecin prescripteur',
        'de': 'Überweiser',
    },
    'modality': {'en': 'Modality', 'ru': 'Модальность', 'es': 'Modalidad', 'fr': 'Modalité', 'de': 'Modalität'},
    'findings': {'en': 'Findings', 'ru': 'Описание', 'es': 'Hallazgos', 'fr': 'Résultats', 'de': 'Befund'},
    'impression': {
        'en': 'Impression',
        'ru': 'Заключение',
        'es': 'Impresión diagnóstica',
        'fr': 'Conclusion',
        'de': 'Beurteilung',
    },
    'measurements': {'en': 'Measurements', 'ru': 'Измерения', 'es': 'Mediciones', 'fr': 'Mesures', 'de': 'Messungen'},
    'value': {'en': 'Value', 'ru': 'Значение', 'es': 'Valor', 'fr': 'Valeur', 'de': 'Wert'},
    'normal': {
        'en': 'Normal range',
        'ru': 'Норма',
        'es': 'Rango normal',
        'fr': 'Valeurs normales',
        'de': 'Normbereich',
    },
    'outside': {
        'en': 'outside the normal range',
        'ru': 'вне нормы',
        'es': 'fuera del rango normal',
        'fr': 'hors des valeurs normales',
        'de': 'außerhalb des Normbereichs',
    },
    'key_images': {
        'en': 'Key images',
        'ru': 'Ключевые изображения',
        'es': 'Imágenes clave',
        'fr': 'Images clés',
        'de': 'Schlüsselbilder',
    },
    'image_missing': {
        'en': 'Image not available',
        'ru': 'Изображение недоступно',
        'es': 'Imagen no disponible',
        'fr': 'Image indisponible',
        'de': 'Bild nicht verfügbar',
    },
    'signed_by': {
        'en': 'Signed by',
        'ru': 'Подписал',
        'es': 'Firmado por',
        'fr': 'Signé par',
        'de': 'Unterzeichnet von',
    },
    'signed_at': {
        'en': 'Signed on',
        'ru': 'Дата подписи',
        'es': 'Firmado el',
        'fr': 'Signé le',
        'de': 'Unterzeichnet am',
    },
    'addendum': {'en': 'Addendum', 'ru': 'Дополнение', 'es': 'Adenda', 'fr': 'Addendum', 'de': 'Nachtrag'},
    'draft': {
        'en': 'DRAFT — not signed',
        'ru': 'ЧЕРНОВИК — не подписан',
        'es': 'BORRADOR — sin firmar',
        'fr': 'BROUILLON — non signé',
        'de': 'ENTWURF — nicht unterzeichnet',
    },
    'checksum': {
        'en': 'Content checksum (SHA-256)',
        'ru': 'Контрольная сумма (SHA-256)',
        'es': 'Suma de verificación (SHA-256)',
        'fr': 'Somme de contrôle (SHA-256)',
        'de': 'Prüfsumme (SHA-256)',
    },
    'page': {'en': 'Page', 'ru': 'Страница', 'es': 'Página', 'fr': 'Page', 'de': 'Seite'},
    'of': {'en': 'of', 'ru': 'из', 'es': 'de', 'fr': 'sur', 'de': 'von'},
    'M': {'en': 'male', 'ru': 'мужской', 'es': 'masculino', 'fr': 'masculin', 'de': 'männlich'},
    'F': {'en': 'female', 'ru': 'женский', 'es': 'femenino', 'fr': 'féminin', 'de': 'weiblich'},
    'O': {'en': 'other', 'ru': 'другой', 'es': 'otro', 'fr': 'autre', 'de': 'divers'},
    'U': {'en': 'unknown', 'ru': 'не указан', 'es': 'desconocido', 'fr': 'inconnu', 'de': 'unbekannt'},
}


def text(key: str, language: str) -> str:
    """A fixed text in the report's language (English when it has none)."""
    entry = TEXTS[key]
    return entry.get(language) or entry['en']
