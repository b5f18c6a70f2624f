"""Imports point one way (STYLE §1): domain imports none of the outer packages or their libraries."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_FORBIDDEN = {
    'nicegui',
    'pydicom',
    'pynetdicom',
    'numpy',
    'dramatiq',
    'cv2',
    'PIL',
    'redis',
    'weasyprint',
    'jinja2',
    'fastapi',
    'starlette',
    'ui',
    'dicom',
    'jobs',
    'reports',
    'main',
}
UI_FORBIDDEN = {'pydicom', 'pynetdicom', 'sqlalchemy', 'sqlmodel', 'dramatiq', 'jobs', 'weasyprint'}
REPORTS_FORBIDDEN = {'nicegui', 'pydicom', 'pynetdicom', 'sqlalchemy', 'sqlmodel', 'ui', 'jobs', 'dicom'}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names


def _offenders(package: str, forbidden: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob('*.py')):
        bad = _imports(path) & forbidden
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize(
    ('package', 'forbidden'), [('domain', DOMAIN_FORBIDDEN), ('ui', UI_FORBIDDEN), ('reports', REPORTS_FORBIDDEN)]
)
def test_a_package_imports_only_what_its_layer_may(package: str, forbidden: set[str]) -> None:
    assert (ROOT / package).is_dir()
    assert not _offenders(package, forbidden)


def test_the_check_itself_notices_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / 'sample.py'
    sample.write_text('import numpy as np\nfrom nicegui import ui\nfrom . import db\n')
    assert _imports(sample) & DOMAIN_FORBIDDEN == {'numpy', 'nicegui'}
