"""The backup policy and what it asks for: which backup is due now, and how fresh the last verified one is.

The policy lives in domain/options (folder, incremental every N hours, nightly full hour, full chains kept, public
key, drill day); PACS_BACKUP_PASSPHRASE comes from the environment and is never stored. A scheduled backup is never
written unencrypted: without a public key or a passphrase the schedule is off and says why. `due()` and `state()` are
pure functions of the policy, the recent runs and the time, so they are tested without waiting for a clock.
"""

import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import SQLModel

from . import audit, options, sealed
from .access import Actor, Permission, require
from .errors import N_, InvalidInput, Message

log = logging.getLogger(__name__)

BACKUP_JOB = 'run_backup'  # full and incremental backups
DRILL_JOB = 'run_drill'  # the weekly restore drill, or the stored-archive check when only a public key is known
BACKUPS = ('full', 'incremental')
DRILLS = ('drill', 'check')
KINDS = (*BACKUPS, *DRILLS)
ACTIVE = ('queued', 'running')
TICK = timedelta(minutes=1)  # an incremental may start this much early: the scheduler looks every ~30 s
AMBER, RED = 1.5, 3.0  # the last verified backup older than this many incremental intervals
POLICY_KEYS = {
    'target': 'backup_target',
    'incremental_hours': 'backup_incremental_hours',
    'full_hour': 'backup_full_hour',
    'keep_full': 'backup_keep_full',
    'drill_weekday': 'backup_drill_weekday',
    'public_key': 'backup_public_key',
}
_config: dict[str, object] = {'data_dir': Path('data'), 'passphrase': None}


def configure(data_dir: Path, passphrase: SecretStr | None) -> None:
    """Where the data directory is, and PACS_BACKUP_PASSPHRASE (kept in memory only); main.py calls it at start."""
    _config['data_dir'] = data_dir
    _config['passphrase'] = passphrase if passphrase and passphrase.get_secret_value() else None


def data_dir() -> Path:
    """The data directory the backups archive."""
    return Path(str(_config['data_dir']))


def passphrase() -> sealed.Passphrase | None:
    """PACS_BACKUP_PASSPHRASE as a recipient and identity, when this process has it."""
    secret = _config['passphrase']
    return sealed.Passphrase(secret.get_secret_value()) if isinstance(secret, SecretStr) else None


@dataclass(frozen=True)
class Policy:
    """The backup settings as they stand, and whether this process has the passphrase."""

    target: str = ''
    incremental_hours: int = 1
    full_hour: int = 2
    keep_full: int = 7
    drill_weekday: int = 6
    public_key: str = ''
    has_passphrase: bool = False

    @property
    def recipient_kind(self) -> str:
        """'public-key' (preferred: a stolen server cannot read its own backups), 'passphrase' or ''."""
        if self.public_key:
            return 'public-key'
        return 'passphrase' if self.has_passphrase else ''

    @property
    def off_reason(self) -> Message | None:
        """Why scheduled backups do not run, or None when they do."""
        if not self.target:
            return N_('No backup folder is chosen')
        if not self.recipient_kind:
            return N_('Backups are never written unencrypted: add a public key or set PACS_BACKUP_PASSPHRASE')
        return None

    @property
    def interval(self) -> timedelta:
        return timedelta(hours=self.incremental_hours)


class PolicyForm(SQLModel):
    """The policy as the administrator types it (numbers may arrive as floats from the form)."""

    target: str = ''
    incremental_hours: float = 1
    full_hour: float = 2
    keep_full: float = 7
    drill_weekday: float = 6
    public_key: str = ''


@dataclass(frozen=True)
class RunView:
    """What due() and state() need of a run (state from its job: queued, running, done, failed)."""

    kind: str
    state: str
    created_at: datetime
    slot: str | None = None
    target: str = ''
    verified_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Due:
    kind: str  # full, incremental, drill or check
    slot: str


@dataclass(frozen=True)
class BackupState:
    """How fresh the last verified backup is: ok, amber, red, or off (no policy)."""

    state: str
    age_seconds: int | None
    last_verified_at: datetime | None
    reason: Message | None = None  # for the administrator: with the failed run's error
    public_reason: Message | None = None  # for /health, which answers without login: no paths, no error text


@dataclass(frozen=True)
class FolderCheck:
    """A backup folder as the server sees it: the problem (None when usable) and its free space."""

    problem: Message | None
    free_bytes: int | None = None


def policy() -> Policy:
    """The backup policy now."""
    values = {field: options.get(key) for field, key in POLICY_KEYS.items()}
    return Policy(**values, has_passphrase=passphrase() is not None)


def due(current: Policy, runs: list[RunView], now: datetime, *, tz: tzinfo | None = None) -> list[Due]:
    """What the schedule asks for now: at most one run, none while one is waiting or running (runs newest first).

    A full when the folder has none yet or once the nightly hour has come (one a day, local time); an incremental
    when the last backup into this folder started N hours ago, or it has none (one per hour slot); the weekly drill
    from its day on, once per ISO week, when there is a full to drill.
    """
    if current.off_reason is not None or any(run.state in ACTIVE for run in runs):
        return []
    taken = {run.slot for run in runs if run.slot}
    local = now.astimezone(tz)
    backups = [run for run in runs if run.kind in BACKUPS and run.target == current.target]
    has_full = any(run.kind == 'full' and run.state == 'done' for run in backups)
    full = f'full:{local.date().isoformat()}'
    nightly = local.replace(hour=current.full_hour, minute=0, second=0, microsecond=0)
    # a full made by hand since tonight's hour stands for tonight's
    since = any(run.kind == 'full' and run.state == 'done' and run.created_at >= nightly for run in backups)
    if full not in taken and (not has_full or (local.hour >= current.full_hour and not since)):
        return [Due('full', full)]
    latest = max((run.created_at for run in backups), default=None)  # None: a new folder (the engine makes a full)
    incremental = f'incr:{now.astimezone(UTC):%Y-%m-%dT%H}'
    if (latest is None or now - latest >= current.interval - TICK) and incremental not in taken:
        return [Due('incremental', incremental)]
    year, week, weekday = local.isocalendar()
    drill = f'drill:{year}-W{week:02d}'
    if has_full and weekday - 1 >= current.drill_weekday and drill not in taken:
        return [Due('drill' if current.recipient_kind == 'passphrase' else 'check', drill)]
    return []


def state(current: Policy, runs: list[RunView], now: datetime) -> BackupState:
    """The last verified backup's age, amber past 1.5 and red past 3 incremental intervals or after a failure."""
    if current.off_reason is not None:
        return BackupState('off', None, None, current.off_reason, current.off_reason)
    verified = max((run.verified_at for run in runs if run.kind in BACKUPS and run.verified_at), default=None)
    age = int((now - verified).total_seconds()) if verified else None

    def shown(colour: str, reason: Message | None = None, public: Message | None = None) -> BackupState:
        return BackupState(colour, age, verified, reason, public or reason)

    finished = [run for run in runs if run.state in ('done', 'failed')]
    last_backup = next((run for run in finished if run.kind in BACKUPS), None)
    if last_backup is not None and last_backup.state == 'failed':
        failed = N_('The last backup failed: {error}', error=last_backup.error or '')
        return shown('red', failed, N_('The last backup failed'))
    last_drill = next((run for run in finished if run.kind in DRILLS), None)
    if last_drill is not None and last_drill.state == 'failed':
        failed = N_('The last restore drill failed: {error}', error=last_drill.error or '')
        return shown('red', failed, N_('The last restore drill failed'))
    if verified is None or age is None:
        return shown('red', N_('No verified backup yet'))
    interval = current.interval.total_seconds()
    hours = round(age / 3600, 1)
    if age > RED * interval:
        return shown('red', N_('The last verified backup is {hours} h old', hours=hours))
    if age > AMBER * interval:
        return shown('amber', N_('The last verified backup is {hours} h old', hours=hours))
    return shown('ok')


def inspect_folder(target: str, *, by: Actor) -> FolderCheck:
    """The folder check for the Backups screen (what the server's disks hold is for administrators only)."""
    require(by, Permission.MANAGE_SETTINGS)
    return check_folder(target)


def check_folder(target: str) -> FolderCheck:
    """Whether the server can write backups into `target`: it exists, is a folder, is writable, is not the data."""
    if not target.strip():
        return FolderCheck(N_('Choose the folder of a mounted USB disk or NAS share'))
    path = Path(target).expanduser()
    if not path.is_absolute():
        return FolderCheck(N_('Give the full path of the folder, starting with /'))
    resolved, data = path.resolve(), data_dir().resolve()
    if resolved == data or data in resolved.parents:
        return FolderCheck(N_('Backups must go outside the data directory ({data}), to another disk', data=str(data)))
    if not path.exists():
        return FolderCheck(N_('{path} does not exist: is the disk mounted?', path=str(path)))
    if not path.is_dir():
        return FolderCheck(N_('{path} is not a folder', path=str(path)))
    free = shutil.disk_usage(path).free
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix='.clinicpacs-write-test-'):
            pass
    except OSError:
        return FolderCheck(N_('The server may not write into {path}', path=str(path)), free)
    return FolderCheck(None, free)


def save_policy(form: PolicyForm, *, by: Actor) -> Policy:
    """Check and store the policy; each changed option is audited. Nothing is stored when any value is refused."""
    require(by, Permission.MANAGE_SETTINGS)
    values = _validated(form)
    for field, value in values.items():
        if options.get(POLICY_KEYS[field]) != value:
            options.put(POLICY_KEYS[field], value, by=by)
    return policy()


def create_keypair(*, by: Actor) -> str:
    """Make a key pair, keep its public half as the backups' recipient and return the private half (never stored)."""
    require(by, Permission.MANAGE_SETTINGS)
    public, private = sealed.generate_keypair()
    options.put('backup_public_key', public, by=by)
    audit.record_alone(by, 'backup.keypair', object_type='setting', object_id='backup_public_key')
    log.info('a new backup key pair was made; only its public half is kept')
    return private


def _validated(form: PolicyForm) -> dict[str, object]:
    problems: dict[str, Message] = {}
    target = (form.target or '').strip()
    if target and (folder := check_folder(target)).problem is not None:
        problems['target'] = folder.problem
    numbers = {
        'incremental_hours': (1, 168, N_('Back up every 1 to 168 hours')),
        'full_hour': (0, 23, N_('The nightly full backup hour is 0 to 23')),
        'keep_full': (1, 365, N_('Keep 1 to 365 full backups')),
        'drill_weekday': (0, 6, N_('Choose the day of the weekly drill')),
    }
    whole: dict[str, int] = {}
    for field, (low, high, message) in numbers.items():
        value = _whole(getattr(form, field))
        if value is None or not low <= value <= high:
            problems[field] = message
        else:
            whole[field] = value
    public_key = (form.public_key or '').strip()
    if public_key:
        try:
            sealed.PublicKey(public_key)
        except InvalidInput as error:
            problems['public_key'] = N_(error.message, **error.params)
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return {'target': target, **whole, 'public_key': public_key}


def _whole(value: object) -> int | None:
    """A whole number from the form (1, 1.0 or '1'), else None."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
