"""Attack 2 (backups): an archive anyone on the server could read, holding the web session signing secret.

With `secret.key` from a backup, a cookie can be forged for any live browser id. An archive is sealed, readable by
its owner only from the moment it exists (so are its header and the server's backup state), leaves the session
secrets out, and a restored server signs with new ones.
"""

import os
import stat
import tarfile
from pathlib import Path

import pytest

from domain import backup, keys
from tests.conftest import Clinic
from tests.domain.test_backup import KEY, members, quick_scrypt  # noqa: F401 - quick_scrypt is a fixture


def test_an_archive_is_never_readable_by_others_even_while_it_is_written(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = clinic.data_dir / 'backups'
    seen: dict[str, int] = {}
    real_addfile = tarfile.TarFile.addfile

    def watching(archive: tarfile.TarFile, *args: object, **kwargs: object) -> None:
        for path in target.iterdir():
            seen[path.name] = stat.S_IMODE(path.stat().st_mode)
        real_addfile(archive, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tarfile.TarFile, 'addfile', watching)
    os.umask(0o022)

    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    assert seen, 'the archive was never seen while being written'
    assert {name: oct(mode) for name, mode in seen.items() if mode & 0o077} == {}
    written = [made.path, made.path.with_name(f'{made.path.name}.json'), *(clinic.data_dir / 'backups-state').iterdir()]
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in written} == {
        path.name: '0o600' for path in written
    }
    assert oct(stat.S_IMODE(target.stat().st_mode)) == '0o700'


def test_an_archive_leaves_the_session_secrets_out_and_keeps_the_audit_and_mfa_keys(clinic: Clinic) -> None:
    clinic.settings.secret_value()  # secret.key, as the web server makes it
    for name in ('session', 'audit', 'mfa'):
        keys.key(name)

    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    names = set(members(made.path))
    assert 'files/secret.key' not in names
    assert 'files/keys/session.key' not in names
    assert {'files/keys/audit.key', 'files/keys/mfa.key'} <= names


def test_a_restored_server_signs_sessions_with_a_new_secret(clinic: Clinic, tmp_path: Path) -> None:
    before = clinic.settings.secret_value()
    session_key = keys.key('session')
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    backup.restore(made.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)

    assert clinic.settings.secret_value() != before
    assert oct(stat.S_IMODE((clinic.data_dir / 'secret.key').stat().st_mode)) == '0o600'
    assert keys.key('session') != session_key
