"""MFA bypass through the database: what a copy of the database (a dump, a stolen backup) or a write to it gives.

The TOTP secret is stored encrypted with a key kept outside the database (PACS_DATA_DIR/keys, 0600) and bound to
its account, so a dump does not yield anyone's codes and a value copied from one's own row into an administrator's
does not let one's own phone stand in for theirs. Recovery codes are stored as keyed digests, bound the same way.
"""

import base64
import hashlib
import shutil

from sqlalchemy import text

from domain import db, keys, mfa
from tests.conftest import Clinic
from tests.mfa_fixtures import code_now, enrol


def stored_secret(user_id: int) -> str:
    with db.reading() as session:
        row = session.exec(text('SELECT mfa_secret FROM "user" WHERE id = :id'), params={'id': user_id}).one()  # type: ignore[call-overload]
    return str(row[0])


def stored_digests(user_id: int) -> list[str]:
    with db.reading() as session:
        rows = session.exec(text('SELECT code_hash FROM recovery_code WHERE user_id = :id'), params={'id': user_id})  # type: ignore[call-overload]
        return [str(row[0]) for row in rows.all()]


def test_a_database_dump_holds_no_totp_secret_in_any_encoding(clinic: Clinic) -> None:
    secret, _ = enrol(clinic.admin)
    stored = stored_secret(clinic.admin.user_id)
    raw = base64.b32decode(secret)
    for form in (secret, secret.lower(), raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw)):
        assert str(form).rstrip('=') not in stored


def test_without_the_key_file_the_stored_secret_opens_nothing(clinic: Clinic) -> None:
    secret, _ = enrol(clinic.admin)
    shutil.rmtree(keys.key_dir())  # the database alone, as in a stolen dump: a new key appears on next use
    assert not mfa.check(clinic.admin.user_id, code_now(secret))


def test_copying_ones_own_secret_into_an_administrators_row_does_not_pass(clinic: Clinic) -> None:
    _, _ = enrol(clinic.admin)
    intruder_secret, _ = enrol(clinic.technician)
    with db.transaction() as session:
        session.exec(  # type: ignore[call-overload]
            text('UPDATE "user" SET mfa_secret = :value WHERE id = :id'),
            params={'value': stored_secret(clinic.technician.user_id), 'id': clinic.admin.user_id},
        )
    assert not mfa.check(clinic.admin.user_id, code_now(intruder_secret))


def test_recovery_codes_are_stored_as_keyed_digests_only(clinic: Clinic) -> None:
    _, codes = enrol(clinic.admin)
    digests = stored_digests(clinic.admin.user_id)
    assert len(digests) == 10
    for code in codes:
        for form in (code, code.replace('-', '')):
            assert not any(form in digest for digest in digests)
            assert hashlib.sha256(form.encode()).hexdigest() not in digests  # not a plain, brute-forceable hash


def test_copying_ones_own_recovery_digests_to_an_administrator_does_not_pass(clinic: Clinic) -> None:
    enrol(clinic.admin)
    _, intruder_codes = enrol(clinic.technician)
    with db.transaction() as session:
        session.exec(  # type: ignore[call-overload]
            text('UPDATE recovery_code SET user_id = :admin WHERE user_id = :intruder'),
            params={'admin': clinic.admin.user_id, 'intruder': clinic.technician.user_id},
        )
    assert not any(mfa.check(clinic.admin.user_id, code) for code in intruder_codes)
