"""The console commands, run as a clinic's administrator would: a real process per call."""

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_main


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / 'data'


def test_users_are_added_listed_changed_and_disabled_from_the_console(data_dir: Path) -> None:
    added = run_main(data_dir, 'user', 'add', 'maria', '--role', 'receptionist', '--password', 'maria password 1')
    assert added.returncode == 0, added.stderr
    assert 'added maria (receptionist)' in added.stdout
    from_stdin = run_main(data_dir, 'user', 'add', 'ivan', '--role', 'technician', stdin='ivan password 22\n')
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert run_main(data_dir, 'user', 'passwd', 'maria', '--password', 'another password').returncode == 0
    assert run_main(data_dir, 'user', 'disable', 'ivan').returncode == 0
    listing = run_main(data_dir, 'user', 'list').stdout
    assert any(line.split()[:3] == ['maria', 'receptionist', 'active'] for line in listing.splitlines())
    assert any(line.split()[:3] == ['ivan', 'technician', 'disabled'] for line in listing.splitlines())


def test_a_refused_command_prints_one_line_and_exits_2(data_dir: Path) -> None:
    result = run_main(data_dir, 'user', 'add', 'shorty', '--role', 'admin', '--password', 'short')
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'at least 10 characters' in result.stderr
    assert 'Traceback' not in result.stderr


def test_a_bad_variable_stops_any_command_with_its_name(data_dir: Path) -> None:
    result = run_main(data_dir, 'user', 'list', PACS_HTTP_PORT='99999')
    assert result.returncode == 2
    assert result.stderr.startswith('clinicpacs: PACS_HTTP_PORT:')


def test_audit_verify_finds_a_changed_row(data_dir: Path) -> None:
    added = run_main(data_dir, 'user', 'add', 'olga', '--role', 'radiologist', '--password', 'olga password 1')
    assert added.returncode == 0
    intact = run_main(data_dir, 'audit', 'verify')
    assert intact.returncode == 0
    assert 'intact' in intact.stdout
    with sqlite3.connect(data_dir / 'clinicpacs.sqlite3') as connection:
        connection.execute("UPDATE audit_event SET role = 'admin' WHERE action = 'user.create'")
    broken = run_main(data_dir, 'audit', 'verify')
    assert broken.returncode == 1
    assert 'broken at event 1' in broken.stdout


def test_migrate_creates_the_schema(data_dir: Path) -> None:
    result = run_main(data_dir, 'migrate')
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data_dir / 'clinicpacs.sqlite3') as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {'user', 'patient', 'study', 'series', 'instance', 'report', 'audit_event', 'job'} <= tables


def test_a_backup_restores_into_a_new_data_directory(tmp_path: Path) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    passphrase = {'PACS_BACKUP_PASSPHRASE': 'a long clinic backup passphrase'}
    assert (
        run_main(first, 'user', 'add', 'zoe', '--role', 'technician', '--password', 'zoe password 12').returncode == 0
    )
    made = run_main(first, 'backup', '--output', str(tmp_path / 'archives'), **passphrase)
    assert made.returncode == 0, made.stderr
    assert 'read back and checked' in made.stdout
    archive = next((tmp_path / 'archives').glob('clinicpacs-*-full.tar.sealed'))
    wrong = run_main(second, 'restore', str(archive), PACS_BACKUP_PASSPHRASE='not the passphrase')
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == f'clinicpacs: The passphrase or key does not open {archive.name}'
    restored = run_main(second, 'restore', str(archive), **passphrase)
    assert restored.returncode == 0, restored.stderr
    assert 'zoe' in run_main(second, 'user', 'list').stdout
    assert run_main(second, 'audit', 'verify').returncode == 0
    again = run_main(second, 'restore', str(archive), **passphrase)
    assert again.returncode == 2
    assert 'already holds data' in again.stderr


def test_a_backup_sealed_to_a_public_key_opens_only_with_its_private_key(tmp_path: Path) -> None:
    data_dir, private = tmp_path / 'data', tmp_path / 'usb' / 'backup.key'
    private.parent.mkdir()
    made_key = run_main(data_dir, 'backup', 'keygen', '--private-out', str(private))
    assert made_key.returncode == 0, made_key.stderr
    public = made_key.stdout.splitlines()[0]
    assert oct(private.stat().st_mode & 0o777) == '0o600'
    assert 'move it off this server' in made_key.stdout

    made = run_main(data_dir, 'backup', '--incremental', '--public-key', public)
    assert made.returncode == 0, made.stderr
    archive = next((data_dir / 'backups').glob('clinicpacs-*-full.tar.sealed'))  # no full to build on yet
    verified = run_main(data_dir, 'backup', 'verify', str(archive), '--key', str(private))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    drilled = run_main(data_dir, 'backup', 'drill', str(archive), '--key', str(private))
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert 'audit trail intact' in drilled.stdout
    no_key = run_main(data_dir, 'backup', 'verify', str(archive))
    assert no_key.returncode == 2
    assert no_key.stderr.startswith('clinicpacs: PACS_BACKUP_PASSPHRASE: not set')
    nowhere = run_main(data_dir, 'backup', '--public-key', public, '--output', str(private / 'inside-a-file'))
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip() == f'clinicpacs: Not a directory ({private / "inside-a-file"})'


def test_a_centres_account_is_added_from_the_console_by_the_centres_name(data_dir: Path) -> None:
    added = run_main(data_dir, 'user', 'add', 'desk', '--role', 'centre', '--password', 'desk password 1')
    assert added.returncode == 0, added.stderr  # one centre, the clinic's own: it is the one
    unknown = run_main(
        data_dir, 'user', 'add', 'desk2', '--role', 'centre', '--centre', 'Nowhere', '--password', 'desk password 1'
    )
    assert unknown.returncode == 2 and 'No such centre' in unknown.stderr
    named = run_main(
        data_dir, 'user', 'add', 'desk3', '--role', 'centre', '--centre', 'clinicpacs', '--password', 'desk password 1'
    )
    assert named.returncode == 0, named.stderr
    with sqlite3.connect(data_dir / 'clinicpacs.sqlite3') as connection:
        rows = dict(connection.execute("SELECT username, centre_id FROM user WHERE username LIKE 'desk%'").fetchall())
    assert rows == {'desk': 1, 'desk3': 1}
