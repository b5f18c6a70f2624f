"""The at-rest key file at start-up: made on the first start (0600), refused where it would do no good, and a
missing or wrong one stops the server with one clear line."""

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain import at_rest
from tests.conftest import run_main


@pytest.fixture(autouse=True)
def _forgotten() -> Iterator[None]:
    yield
    at_rest.forget()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / 'data').mkdir()
    return tmp_path / 'data'


def test_the_first_start_makes_a_private_key_file_and_a_wrapped_data_key(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / 'at-rest.key'
    at_rest.configure(data_dir, encrypt=True, key_file=key_file)
    assert at_rest.enabled()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / at_rest.WRAPPED_DATA_KEY).stat().st_mode) == 0o600
    assert next(r.message for r in caplog.records if r.levelname == 'WARNING').startswith('created the at-rest key')
    wrapped = (data_dir / at_rest.WRAPPED_DATA_KEY).read_bytes()
    assert key_file.read_bytes().split(b':')[1].strip() not in wrapped
    at_rest.configure(data_dir, encrypt=True, key_file=key_file)  # the next start uses both as they are
    assert (data_dir / at_rest.WRAPPED_DATA_KEY).read_bytes() == wrapped


def test_a_key_file_readable_by_others_is_made_private(data_dir: Path, tmp_path: Path) -> None:
    key_file = tmp_path / 'at-rest.key'
    at_rest.configure(data_dir, encrypt=True, key_file=key_file)
    key_file.chmod(0o644)
    at_rest.configure(data_dir, encrypt=True, key_file=key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ('where', 'message'),
    [
        ('inside', 'must lie outside the data directory'),
        ('unset', 'needs a key file'),
        ('no folder', 'folder of the key file'),
        ('malformed', 'not a ClinicPACS at-rest key file'),
        ('a folder', 'not a ClinicPACS at-rest key file'),
    ],
)
def test_a_key_file_that_cannot_serve_is_refused(data_dir: Path, tmp_path: Path, where: str, message: str) -> None:
    key_file: Path | None = {
        'inside': data_dir / 'at-rest.key',
        'unset': None,
        'no folder': tmp_path / 'unmounted' / 'at-rest.key',
        'malformed': tmp_path / 'at-rest.key',
        'a folder': tmp_path,
    }[where]
    if where == 'malformed':
        (tmp_path / 'at-rest.key').write_text('not a key\n')
    with pytest.raises(at_rest.KeyProblem, match=message):
        at_rest.configure(data_dir, encrypt=True, key_file=key_file)
    assert not at_rest.enabled()


def test_with_encryption_off_a_key_file_still_reads_what_was_sealed(data_dir: Path, tmp_path: Path) -> None:
    key_file = tmp_path / 'at-rest.key'
    at_rest.configure(data_dir, encrypt=True, key_file=key_file)
    at_rest.write_new(data_dir / 'sealed.bin', b'pixels')
    at_rest.configure(data_dir, encrypt=False, key_file=key_file)
    at_rest.write_new(data_dir / 'plain.bin', b'more pixels')
    assert (data_dir / 'plain.bin').read_bytes() == b'more pixels'
    assert at_rest.read_bytes(data_dir / 'sealed.bin') == b'pixels'
    assert at_rest.plain_size(data_dir / 'sealed.bin') == len(b'pixels')


def test_the_server_does_not_start_with_a_missing_or_wrong_key_file(data_dir: Path, tmp_path: Path) -> None:
    key_file = tmp_path / 'usb' / 'at-rest.key'
    key_file.parent.mkdir()
    encrypted = {'PACS_ENCRYPT_AT_REST': 'true', 'PACS_AT_REST_KEY_FILE': str(key_file)}
    first = run_main(data_dir, 'user', 'list', **encrypted)
    assert first.returncode == 0, first.stderr
    assert 'created the at-rest key file' in first.stderr
    key_file.rename(tmp_path / 'elsewhere.key')
    missing = run_main(data_dir, 'user', 'list', **encrypted)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f'clinicpacs: The key file {key_file} is missing: the encrypted files cannot be read without it'
    )
    at_rest.configure(tmp_path / 'other', encrypt=True, key_file=key_file)  # another installation's key file
    wrong = run_main(data_dir, 'user', 'list', **encrypted)
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        f'clinicpacs: The key file {key_file} does not open the data key of this data directory'
    )


def test_a_new_key_file_rewraps_the_data_key_and_the_files_stay_readable(data_dir: Path, tmp_path: Path) -> None:
    old, new = tmp_path / 'old.key', tmp_path / 'new.key'
    at_rest.configure(data_dir, encrypt=True, key_file=old)
    at_rest.write_new(data_dir / 'image.bin', b'pixels')
    at_rest.rewrap(data_dir, old, new)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    with pytest.raises(at_rest.KeyProblem, match='does not open the data key'):
        at_rest.configure(data_dir, encrypt=True, key_file=old)
    at_rest.configure(data_dir, encrypt=True, key_file=new)
    assert at_rest.read_bytes(data_dir / 'image.bin') == b'pixels'
