"""requirements.lock: the environment holds exactly the locked versions, and the lock covers pyproject.toml."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r'^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]+))?')


def _locked() -> dict[str, tuple[str, str | None]]:
    """Every pinned package of the lock: canonical name -> (version, environment marker or None)."""
    pins = {}
    for line in (ROOT / 'requirements.lock').read_text().splitlines():
        if match := PIN.match(line):
            marker = (match['marker'] or '').strip() or None
            pins[canonicalize_name(match['name'])] = (match['version'], marker)
    return pins


def _applies(marker: str | None) -> bool:
    return marker is None or Marker(marker).evaluate()


def test_every_locked_package_is_installed_at_its_locked_version() -> None:
    wrong = {}
    for name, (version, marker) in _locked().items():
        if not _applies(marker):
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = 'missing'
        if installed != version:
            wrong[name] = f'locked {version}, installed {installed}'
    assert not wrong, f'the environment is not the lock (run `make clean test`): {wrong}'


def test_every_locked_line_carries_hashes() -> None:
    text = (ROOT / 'requirements.lock').read_text()
    blocks = re.split(r'\n(?=[A-Za-z0-9])', text.split('\n', 2)[2])
    unhashed = [block.split()[0] for block in blocks if '==' in block and '--hash=sha256:' not in block]
    assert not unhashed, f'pins without hashes: {unhashed}'


def test_the_lock_satisfies_every_requirement_of_pyproject() -> None:
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    requirements = [Requirement(r) for r in project['dependencies'] + project['optional-dependencies']['test']]
    pins = _locked()
    disagree = []
    for requirement in requirements:
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned[0], prereleases=True):
            disagree.append(f'{requirement} (lock: {pinned[0] if pinned else "absent"})')
    assert not disagree, f'pyproject.toml and requirements.lock disagree; run `make lock`: {disagree}'


def test_pip_itself_is_the_pinned_one() -> None:
    """The venv's own pip (23.2 on Debian 12) resolved nicegui's uvicorn[standard] past its pin, so pip comes first."""
    (pin,) = [match for line in (ROOT / 'requirements-pip.lock').read_text().splitlines() if (match := PIN.match(line))]
    assert pin['name'] == 'pip'
    assert metadata.version('pip') == pin['version'], 'run `make clean test`: pip is not requirements-pip.lock'
