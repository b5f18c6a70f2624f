"""Two-step sign-in: a TOTP authenticator app (RFC 6238) and ten one-time recovery codes per account.

The TOTP secret is kept encrypted (AES-GCM with a key derived from `keys.key('mfa')`, bound to the user's id)
together with the last time step used, so a code read over someone's shoulder cannot be used again; a successful
check swaps the stored value only if nobody changed it meanwhile. Recovery codes are kept as keyed HMAC-SHA256
digests: cheap to look up, useless without the key file, which never enters the database.
"""

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from . import audit, auth, clock, db, keys
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .models import RecoveryCode, Role, User
from .settings import Settings

log = logging.getLogger(__name__)

ISSUER = 'ClinicPACS'
STEP_S = 30  # RFC 6238's time step, as every authenticator app uses it
VALID_WINDOW = 1  # one step either side: phones whose clocks drift a little still work
RECOVERY_CODES = 10
RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz'  # no 0/o, 1/l/i: read off paper without doubt
KIOSK_ROLES = frozenset({'kiosk'})  # accounts on shared screens never need a phone
_FORMAT = 'v1'
_TOTP_CODE = re.compile(r'^\d{6}$')

_config = {'required': ''}


@dataclass(frozen=True)
class Enrolment:
    """What the account page shows to set up an authenticator app; nothing is stored until it is confirmed."""

    secret: str  # base32, for typing into the app by hand
    uri: str  # otpauth://totp/ClinicPACS:<username>?secret=...&issuer=ClinicPACS
    qr_svg: str  # the URI as a QR code, drawn here (no image from elsewhere)


def configure(settings: Settings) -> None:
    """Remember who must use a second factor (PACS_MFA_REQUIRED: '', 'admin' or 'all')."""
    _config['required'] = settings.mfa_required


def required_for(role: str) -> bool:
    """True when accounts of this role must sign in with a second factor."""
    required = _config['required']
    if required == 'admin':
        return role == Role.ADMIN.value
    if required == 'all':
        return role in {r.value for r in Role} and role not in KIOSK_ROLES
    return False


def is_enabled(user_id: int) -> bool:
    """True when the account has a confirmed authenticator app."""
    with db.reading() as session:
        enabled_at = session.exec(select(User.mfa_enabled_at).where(User.id == user_id)).first()
    return enabled_at is not None


def start_enrolment(user_id: int) -> Enrolment:
    """A fresh secret with its otpauth URI and QR code for the account; confirm_enrolment stores it."""
    with db.reading() as session:
        username = session.exec(select(User.username).where(User.id == user_id)).first()
    if username is None:
        raise NotFound('No user {user_id}', user_id=user_id)
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    qr_svg = segno.make(uri, error='m').svg_inline(scale=5, border=2, light='#fff')
    return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg)


def confirm_enrolment(user_id: int, secret: str, code: str, *, by: Actor) -> list[str]:
    """Turn two-step sign-in on once the app shows the right code; returns the ten recovery codes, shown once."""
    _require_self(user_id, by)
    step = _matching_step(secret, code, after=-1)
    if step is None:
        raise InvalidInput(
            'That code does not match: check the time on your phone and type the code the app shows now',
            {'code': 'wrong'},
        )
    plain = _new_recovery_codes()
    with db.transaction() as session:
        user = _load(session, user_id)
        if user.mfa_enabled_at is not None:
            raise Conflict('Two-step sign-in is already on for this account')
        user.mfa_secret = _seal(user_id, secret, step)
        user.mfa_enabled_at = clock.now()
        session.add(user)
        _replace_recovery_codes(session, user_id, plain)
        audit.record(session, by, 'mfa.enrol', object_type='user', object_id=user_id)
    log.info('two-step sign-in turned on for user %s', user_id)
    return plain


def check(user_id: int, code: str, *, address: str = '') -> bool:
    """True for a current authenticator code not used before, or an unused recovery code (then used up).

    A wrong code changes nothing, so the caller can count it as a failed attempt.
    """
    code = _normalise(code)
    with db.reading() as session:
        user = session.get(User, user_id)
    if user is None or user.mfa_enabled_at is None or not user.mfa_secret or not code:
        return False
    if _TOTP_CODE.match(code):
        return _use_totp(user, code)
    return _use_recovery_code(user, code, address=address)


def disable(user_id: int, *, by: Actor, code: str | None = None) -> None:
    """Turn two-step sign-in off: the user with a current code, or an administrator's reset (audited) for another."""
    if by.user_id == user_id:
        if by.session is not None:
            auth.check_session(by)
        with db.reading() as session:
            role = _load(session, user_id).role
        if required_for(role):
            raise NotAllowed('Two-step sign-in is required for your role; an administrator can reset it')
        if not code or not check(user_id, code, address=by.address):
            raise InvalidInput('That code does not match', {'code': 'wrong'})
        action = 'mfa.disable'
    else:
        require(by, Permission.MANAGE_USERS)
        action = 'mfa.reset'
    with db.transaction() as session:
        user = _load(session, user_id)
        user.mfa_secret = None
        user.mfa_enabled_at = None
        session.add(user)
        session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
        audit.record(session, by, action, object_type='user', object_id=user_id)
    log.info('two-step sign-in turned off for user %s (%s)', user_id, action)


def recovery_codes_left(user_id: int) -> int:
    """How many recovery codes of the account are still unused."""
    with db.reading() as session:
        return len(
            session.exec(
                select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))
            ).all()
        )


def regenerate_recovery_codes(user_id: int, code: str, *, by: Actor) -> list[str]:
    """Ten new recovery codes in place of the old ones, after a current code; returns them, shown once."""
    _require_self(user_id, by)
    if not check(user_id, code, address=by.address):
        raise InvalidInput('That code does not match', {'code': 'wrong'})
    plain = _new_recovery_codes()
    with db.transaction() as session:
        _replace_recovery_codes(session, user_id, plain)
        audit.record(session, by, 'mfa.recovery_codes', object_type='user', object_id=user_id)
    return plain


# ---------------------------------------------------------------- helpers


def _require_self(user_id: int, by: Actor) -> None:
    if by.user_id != user_id:
        raise NotAllowed('Only the account holder can set up two-step sign-in')
    if by.session is not None:
        auth.check_session(by)


def _load(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound('No user {user_id}', user_id=user_id)
    return user


def _use_totp(user: User, code: str) -> bool:
    opened = _open(user.id or 0, user.mfa_secret or '')
    if opened is None:
        log.warning('the two-step secret of user %s cannot be read (key changed?)', user.id)
        return False
    secret, last_step = opened
    step = _matching_step(secret, code, after=last_step)
    if step is None:
        return False
    with db.transaction() as session:  # only if nobody used a code meanwhile: the same code twice at once wins once
        swapped = session.exec(
            update(User)
            .where(col(User.id) == user.id, col(User.mfa_secret) == user.mfa_secret)
            .values(mfa_secret=_seal(user.id or 0, secret, step))
        )
    return bool(swapped.rowcount)


def _use_recovery_code(user: User, code: str, *, address: str) -> bool:
    digest = _recovery_digest(user.id or 0, code)
    with db.transaction() as session:
        used = session.exec(
            update(RecoveryCode)
            .where(
                col(RecoveryCode.user_id) == user.id,
                col(RecoveryCode.code_hash) == digest,
                col(RecoveryCode.used_at).is_(None),
            )
            .values(used_at=clock.now())
        )
        if not used.rowcount:
            return False
        actor = Actor(role=user.role, username=user.username, user_id=user.id, address=address[:64])
        audit.record(session, actor, 'mfa.recovery_code_used', object_type='user', object_id=user.id)
    log.info('user %s signed in with a recovery code', user.id)
    return True


def _matching_step(secret: str, code: str, *, after: int) -> int | None:
    """The time step (now ± VALID_WINDOW) whose code this is, if later than `after`; None otherwise."""
    code = _normalise(code)
    if not _TOTP_CODE.match(code):
        return None
    try:
        totp = pyotp.TOTP(secret)
        now = int(clock.now().timestamp()) // STEP_S
        candidates = [(step, totp.generate_otp(step)) for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1)]
    except (ValueError, TypeError):  # not base32
        return None
    matched = [step for step, expected in candidates if hmac.compare_digest(expected, code) and step > after]
    return max(matched) if matched else None


def _new_recovery_codes() -> list[str]:
    def one() -> str:
        chars = ''.join(secrets.choice(RECOVERY_ALPHABET) for _ in range(8))
        return f'{chars[:4]}-{chars[4:]}'

    return [one() for _ in range(RECOVERY_CODES)]


def _replace_recovery_codes(session: Session, user_id: int, plain: list[str]) -> None:
    session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    for code in plain:
        session.add(RecoveryCode(user_id=user_id, code_hash=_recovery_digest(user_id, _normalise(code))))


def _normalise(code: str) -> str:
    return re.sub(r'[\s-]', '', code or '').lower()


def _subkey(purpose: bytes) -> bytes:
    return hmac.new(keys.key('mfa'), purpose, hashlib.sha256).digest()


def _recovery_digest(user_id: int, normalised: str) -> str:
    return hmac.new(_subkey(b'recovery-code'), f'{user_id}:{normalised}'.encode(), hashlib.sha256).hexdigest()


def _seal(user_id: int, secret: str, last_step: int) -> str:
    """The secret and last used step, encrypted and bound to this user (a value copied to another row won't open)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_subkey(b'totp-secret')).encrypt(nonce, f'{secret}:{last_step}'.encode(), _bound_to(user_id))
    return f'{_FORMAT}:{base64.urlsafe_b64encode(nonce + sealed).decode()}'


def _open(user_id: int, stored: str) -> tuple[str, int] | None:
    version, _, body = stored.partition(':')
    if version != _FORMAT:
        return None
    try:
        raw = base64.urlsafe_b64decode(body)
        plain = AESGCM(_subkey(b'totp-secret')).decrypt(raw[:12], raw[12:], _bound_to(user_id)).decode()
        secret, _, step = plain.rpartition(':')
        return secret, int(step)
    except (InvalidTag, ValueError):
        return None


def _bound_to(user_id: int) -> bytes:
    return f'clinicpacs-mfa-user:{user_id}'.encode()
