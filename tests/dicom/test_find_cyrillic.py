"""Names in every script match without regard to case or accents: DCMTK's findscu over C-FIND, and QIDO-RS.

The images are pydicom's character-set test files (chrRuss: Люкceмбypг in ISO_IR 144, chrGreek: Διονυσιος in
ISO_IR 126, chrGerm: Äneas^Rüdiger in ISO_IR 100, chrH31: Yamada^Tarou=山田^太郎=やまだ^たろう in ISO 2022).
"""

import subprocess
from pathlib import Path

import httpx
import pydicom
import pytest
from fastapi import FastAPI
from pydicom.data import get_charset_files

from dicom import qido
from tests.conftest import need_tool
from tests.dicom.conftest import SCU_AE, Pacs, find, send
from ui.guard import route_guard

FILES = {'russian': 'chrRuss.dcm', 'greek': 'chrGreek.dcm', 'german': 'chrGerm.dcm', 'japanese': 'chrH31.dcm'}


def charset_file(name: str) -> Path:
    """One of pydicom's character-set test files (shipped with pydicom; all local)."""
    return Path(get_charset_files(name)[0])


@pytest.fixture
def stored(pacs: Pacs) -> dict[str, str]:
    """The four files stored through the listener; their Study Instance UIDs by language."""
    paths = {language: charset_file(name) for language, name in FILES.items()}
    assert send(pacs, *paths.values()) == [0] * len(paths)
    return {language: pydicom.dcmread(path).StudyInstanceUID for language, path in paths.items()}


@pytest.mark.parametrize(
    ('pattern', 'language'),
    [('люк*', 'russian'), ('ЛЮКCEМБYPГ', 'russian'), ('ΔΙΟΝ*', 'greek'), ('äneas*', 'german'), ('山田*', 'japanese')],
)
def test_findscu_finds_a_name_in_any_case_with_a_utf8_key(
    stored: dict[str, str], pacs: Pacs, tmp_path: Path, pattern: str, language: str
) -> None:
    findscu = need_tool('findscu')
    result = subprocess.run(
        [
            findscu,
            '-S',
            '-aet',
            SCU_AE,
            '-aec',
            pacs.ae_title,
            '-X',
            '-od',
            str(tmp_path),
            '-k',
            'QueryRetrieveLevel=STUDY',
            '-k',
            'SpecificCharacterSet=ISO_IR 192',  # the key's bytes as the shell passes them: UTF-8
            '-k',
            f'PatientName={pattern}',
            '-k',
            'StudyInstanceUID',
            '127.0.0.1',
            str(pacs.port),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors='replace')
    answers = [pydicom.dcmread(path) for path in sorted(tmp_path.glob('rsp*.dcm'))]
    assert [answer.StudyInstanceUID for answer in answers] == [stored[language]]
    assert str(answers[0].PatientName) == str(pydicom.dcmread(charset_file(FILES[language])).PatientName)


def test_a_query_in_the_names_own_character_set_matches_too(stored: dict[str, str], pacs: Pacs) -> None:
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

    query = pydicom.Dataset()
    query.SpecificCharacterSet = 'ISO_IR 144'  # Cyrillic in ISO 8859-5, as chrRuss.dcm itself is written
    query.QueryRetrieveLevel = 'STUDY'
    query.PatientName = 'ЛЮК*'
    query.StudyInstanceUID = ''
    found = [
        identifier.StudyInstanceUID for identifier in find(pacs, StudyRootQueryRetrieveInformationModelFind, query)
    ]
    assert found == [stored['russian']]


async def test_qido_finds_names_in_lower_case(stored: dict[str, str], pacs: Pacs) -> None:
    app = FastAPI()
    qido.register(app, route_guard)
    radiologist = pacs.clinic.radiologist
    auth = (radiologist.username, radiologist.password)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://clinic', auth=auth) as client:
        russian = await client.get('/dicomweb/studies', params={'PatientName': 'люк*'})
        greek = await client.get('/dicomweb/studies', params={'PatientName': 'διονυσιος'})
    assert russian.status_code == 200, russian.text
    assert [study['0020000D']['Value'][0] for study in russian.json()] == [stored['russian']]
    assert russian.json()[0]['00100010']['Value'] == [{'Alphabetic': 'Люкceмбypг'}]
    assert [study['0020000D']['Value'][0] for study in greek.json()] == [stored['greek']]
