"""ClinicPACS entry point and command line: serve (default), worker, scp, migrate, user, modality, audit.

This is the only module that builds the whole system: settings, logging, database, broker, SCP and
web server. Errors a user can fix print one line on stderr and exit with code 2.
"""

import argparse
import functools
import getpass
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from domain import (
    at_rest,
    audit,
    auth,
    backup_schedule,
    centre_admin,
    db,
    hanging_protocols,
    mfa,
    modality_checks,
    options,
    reporting,
    templates,
    users,
)
from domain.access import Actor, system
from domain.errors import DomainError, InvalidInput
from domain.models import Role, UserCreate
from domain.settings import Settings, SettingsError, load

log = logging.getLogger('clinicpacs')


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, 'verbose', False))
    try:
        settings = load()
    except SettingsError as error:
        print(f'clinicpacs: {error}', file=sys.stderr)
        return 2
    command: Callable[[Settings, argparse.Namespace], int] = args.func if hasattr(args, 'func') else serve
    try:
        return command(settings, args)
    except (DomainError, SettingsError) as error:
        print(f'clinicpacs: {error}', file=sys.stderr)
        return 2
    finally:
        audit.checkpoint_pending()  # a console command's events are signed before it exits


# ---------------------------------------------------------------- commands


def serve(settings: Settings, _args: argparse.Namespace | None = None) -> int:
    """Run the web UI, the DICOM listener and (embedded) the job workers in this process."""
    if settings.web_processes > 1:
        return _serve_processes(settings)
    _private_files(settings)
    # NiceGUI's per-browser storage (languages only: session tokens live in a cookie) goes into the data directory,
    # never into the working directory; NiceGUI reads this when it is first imported.
    os.environ['NICEGUI_STORAGE_PATH'] = str((settings.data_dir / 'ui-storage').resolve())
    from nicegui import app, ui

    import ui as screens
    from dicom import onnx_models
    from jobs import broker, heartbeat, scheduler
    from ui import asgi, health, heap, i18n, live, threads
    from ui.admin import ops_server

    _open_database(settings, migrate=True)
    _ensure_first_admin(settings)
    templates.seed_shipped()
    hanging_protocols.seed_shipped()
    onnx_models.register_folder(settings.models_dir or settings.data_dir / 'models')  # draft plug-ins, if any
    _start_jobs(settings, run_workers=settings.redis_url is None)
    heartbeat.start('serve', jobs=settings.redis_url is None)  # /health counts the processes that run jobs
    i18n.set_clinic_language(settings.language)
    screens.register_pages()
    if settings.dicom_listener:
        listener = _start_dicom(settings)
        health.register(
            settings.data_dir,
            {'broker': broker.ping, 'dicom': listener.health},  # ok, down, or saturated (refusing for lack of slots)
            min_free_disk_mb=settings.min_free_disk_mb,
            scaled=settings.redis_url is not None,
        )
        app.on_shutdown(listener.stop)
        ops_server.configure(settings, probe=listener.health, port=listener.port, tls_port=listener.tls_port)
    else:  # the listener runs as its own `scp` process
        ops_server.configure(settings)  # the admin home: the listener by the `scp` processes' heartbeats
        health.register(
            settings.data_dir,
            {'broker': broker.ping, 'dicom': None},
            min_free_disk_mb=settings.min_free_disk_mb,
            scaled=settings.redis_url is not None,
        )
    app.on_startup(live.start_bridge)
    app.on_startup(heap.tune)  # after start-up: see ui/heap.py
    asgi.install(app, origins=settings.origins)  # NOTE: with ui.run's gzip_middleware_factory=None; see ui/asgi.py
    https = _https(settings)  # TLS on: uvicorn's certificate options; the certificate page; HTTP redirects
    app.on_shutdown(scheduler.stop)  # before the workers: no new backup is queued while they stop
    app.on_shutdown(heartbeat.stop)
    app.on_shutdown(broker.stop_workers)
    app.on_shutdown(threads.shutdown)
    app.on_shutdown(db.dispose)
    scheme, port = ('https', settings.https_port) if https else ('http', settings.http_port)
    log.info('serving on %s://%s:%s (data in %s)', scheme, settings.http_host, port, settings.data_dir)
    ui.run(
        host=settings.http_host,
        port=settings.https_port if https else settings.http_port,
        title='ClinicPACS',
        reload=False,
        show=False,
        storage_secret=settings.secret_value(),
        show_welcome_message=False,
        favicon='🩻',
        uvicorn_logging_level='warning',
        reconnect_timeout=10.0,
        gzip_middleware_factory=None,  # ui.asgi.install added it inside the edge
        **https,
    )
    return 0


def worker(settings: Settings, _args: argparse.Namespace) -> int:
    """Run job workers only (the scaled mode: Redis broker, any number of these processes)."""
    if not settings.redis_url:
        raise SettingsError('PACS_REDIS_URL: a separate worker needs the Redis broker')
    _private_files(settings)
    _open_database(settings, migrate=False)
    _start_jobs(settings, run_workers=True)
    from jobs import broker, heartbeat, scheduler

    heartbeat.start('worker', jobs=True)
    log.info('worker running with %d threads', settings.worker_threads)
    _wait_for_signal()
    scheduler.stop()
    heartbeat.stop()
    broker.stop_workers()
    return 0


def migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    db.configure(settings)
    db.upgrade()
    print('database is up to date')
    return 0


def _centre_named(name: str, console: Actor) -> int:
    """The id of the diagnostic centre with this name (case aside), or a clear error."""
    found = [c for c in centre_admin.list_all(by=console) if c.name.casefold() == name.strip().casefold()]
    if not found:
        raise InvalidInput('No such centre')
    return found[0].id or 0


def user(settings: Settings, args: argparse.Namespace) -> int:
    """Manage staff accounts from the console."""
    _open_database(settings, migrate=True)
    console = system('console')
    if args.user_command == 'add':
        centre_id = _centre_named(args.centre, console) if args.centre else None
        password = args.password or _read_password()
        created = users.create(
            UserCreate(
                username=args.username,
                full_name=args.full_name or '',
                role=args.role,
                password=password,
                centre_id=centre_id,
            ),
            by=console,
        )
        print(f'added {created.username} ({created.role})')
    elif args.user_command == 'passwd':
        users.set_password(args.username, args.password or _read_password(), by=console)
        print(f'password changed for {args.username}')
    elif args.user_command == 'disable':
        users.disable(args.username, by=console)
        print(f'disabled {args.username}')
    elif args.user_command == 'mfa-reset':
        account = users.get_by_username(args.username, by=console)
        mfa.disable(account.id or 0, by=console)
        print(f'two-step sign-in reset for {account.username}')
    elif args.user_command == 'list':
        for account in users.list_all(by=console):
            state = 'active' if account.active else 'disabled'
            print(f'{account.username:<24} {account.role:<13} {state:<9} {account.full_name}')
    return 0


def _disk_errors_in_one_line(command: Callable[[Settings, argparse.Namespace], int]) -> Callable[..., int]:
    """A backup or restore that meets a full, missing or read-only disk says so in one line (exit 2)."""

    @functools.wraps(command)
    def run(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return command(settings, args)
        except OSError as error:
            where = f' ({error.filename})' if error.filename else ''
            print(f'clinicpacs: {error.strerror or error}{where}', file=sys.stderr)
            return 2

    return run


@_disk_errors_in_one_line
def backup_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write a sealed archive (or verify, drill, make a key pair: `backup verify|drill|keygen`)."""
    from domain import backup, sealed

    if args.backup_command == 'keygen':
        return _backup_keygen(args.private_out)
    _open_database(settings, migrate=args.backup_command is None)
    if args.backup_command in ('verify', 'drill'):
        identity = _backup_identity(settings, args.key)
        if args.backup_command == 'verify':
            checked = backup.verify(args.archive, identity)
            problems, summary = checked.problems, f'{checked.rows} rows, {checked.files} files, sha256 {checked.sha256}'
        else:
            drilled = backup.drill(args.archive, identity, settings.data_dir / 'backups-state' / 'drills')
            problems = drilled.problems
            summary = (
                f'{len(drilled.archives)} archives, {drilled.rows} rows, {drilled.files} files, audit trail intact'
            )
        for problem in problems:
            print(f'{args.archive.name}: {problem}')
        if problems:
            return 1
        print(f'{args.archive.name} {"verified" if args.backup_command == "verify" else "restores"}: {summary}')
        return 0
    recipient: sealed.Recipient
    if args.public_key:
        given = Path(args.public_key)
        recipient = sealed.PublicKey(given.read_text() if given.is_file() else args.public_key)
    else:
        recipient = sealed.Passphrase(_backup_passphrase(settings, confirm=True))
    kind = 'incremental' if args.incremental else 'full'
    result = backup.create(
        settings.data_dir, by=system('console'), target_dir=args.output, kind=kind, recipient=recipient
    )
    print(
        f'wrote {result.path} ({result.kind}, {result.rows} rows, {result.stored} of {result.files} files, '
        f'sha256 {result.sha256}), read back and checked'
    )
    if result.checkpoint:
        print(result.checkpoint)
    return 0


@_disk_errors_in_one_line
def restore_command(settings: Settings, args: argparse.Namespace) -> int:
    """Put an archive (and the chain it needs) back into an empty database and the data directory."""
    from domain import backup

    _open_database(settings, migrate=True)
    identity = _backup_identity(settings, args.key)
    result = backup.restore(args.archive, settings.data_dir, by=system('console'), identity=identity, force=args.force)
    print(
        f'restored {result.path.name} from {len(result.archives)} archives ({result.rows} rows, {result.files} files)'
    )
    if result.at_rest_files:
        print(
            f'{result.at_rest_files} files are encrypted at rest: put the at-rest key file of the server that made '
            'this backup in place before starting the server'
        )
    return 0


def scp_command(settings: Settings, _args: argparse.Namespace) -> int:
    """Run the DICOM listener alone (the scaled mode; without Redis it processes images itself)."""
    _private_files(settings)
    _open_database(settings, migrate=True)
    _start_jobs(settings, run_workers=settings.redis_url is None)
    from jobs import broker, heartbeat, scheduler

    heartbeat.start('scp', jobs=settings.redis_url is None)
    listener = _start_dicom(settings)
    print(f'DICOM listener {settings.ae_title} on port {listener.port}')
    _wait_for_signal()
    listener.stop()
    scheduler.stop()
    heartbeat.stop()
    broker.stop_workers()
    return 0


def modality_command(settings: Settings, args: argparse.Namespace) -> int:
    """Enter and list the modalities (AE titles) that may send images."""
    from domain import modalities

    _open_database(settings, migrate=True)
    console = system('console')
    if args.modality_command == 'add':
        added = modalities.add(
            modalities.ModalityCreate(
                ae_title=args.ae_title,
                host=args.host,
                port=args.port,
                modality=args.modality,
                room=args.room or '',
                description=args.description or '',
                any_host=args.any_host,
                tls_required=args.tls_required,
            ),
            by=console,
        )
        print(f'added {added.ae_title} at {added.host}:{added.port}')
    else:
        for entry in modalities.list_all(by=console):
            state = 'active' if entry.active else 'disabled'
            print(
                f'{entry.ae_title:<16} {entry.host}:{entry.port:<6} {entry.modality:<4} {state:<9} {entry.description}'
            )
    return 0


def demo_command(settings: Settings, _args: argparse.Namespace) -> int:
    """Fill a new, empty database with a realistic clinic day to try every screen: images, reports and PDFs too."""
    from dicom import storage, synthetic
    from domain import demo, demo_studies
    from jobs import settle

    _open_database(settings, migrate=True)
    _ensure_first_admin(settings)
    hanging_protocols.seed_shipped()
    storage.configure(settings.data_dir, min_free_bytes=settings.min_free_disk_mb * 1024 * 1024)
    summary = demo.fill(by=system('demo'), imaging=demo_studies.Imaging(synthetic.acquire, settle.run_pending))
    print(
        f'demo clinic ready: {summary.patients} patients, {summary.appointments} appointments today, '
        f'{summary.studies} studies with images, {summary.reports} reports'
    )
    print(f'staff accounts {", ".join(summary.usernames)} share the password "{summary.password}"')
    return 0


def audit_command(settings: Settings, args: argparse.Namespace) -> int:
    """Check the audit trail's keyed chain against its checkpoints (and checkpoint it when intact)."""
    _open_database(settings, migrate=False)
    report = audit.verify(by=system('console'))
    if report.intact:
        print(f'audit chain intact: {report.checked} events')
        return 0
    if report.first_broken_id is not None:
        print(f'audit chain broken at event {report.first_broken_id} (after {report.checked} good events)')
    print(f'audit trail not intact: {report.problem}')
    return 1


# ---------------------------------------------------------------- wiring


def _private_files(settings: Settings) -> None:
    """What a server process writes is its own account's alone (umask 077); what is already there is made so too."""
    from domain import file_modes

    os.umask(file_modes.UMASK)  # storage, keys, the database, PDFs, backups, NiceGUI's storage: 0600 / 0700
    file_modes.make_private(settings.data_dir)  # one WARNING line when something was open to others


def _serve_processes(settings: Settings) -> int:
    """PACS_WEB_PROCESSES > 1: ready the data directory and database once, then supervise the web processes."""
    import web_processes

    web_processes.check(settings)
    _private_files(settings)
    settings.secret_value()  # made here once: N processes starting together would race to make it
    _open_database(settings, migrate=True)  # and the first admin, once, before any web process starts
    _ensure_first_admin(settings)
    templates.seed_shipped()
    hanging_protocols.seed_shipped()
    db.dispose()
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    return web_processes.supervise(settings, [sys.executable, str(Path(__file__).resolve())], verbose=verbose)


def _open_database(settings: Settings, *, migrate: bool) -> None:
    db.configure(settings)
    if migrate:
        db.upgrade()
    auth.configure(settings)
    mfa.configure(settings)
    modality_checks.configure(settings)  # our AE title and DICOM ports, for the modality page
    reporting.configure(settings.data_dir)
    at_rest.configure(settings.data_dir, encrypt=settings.encrypt_at_rest, key_file=settings.at_rest_key_file)
    backup_schedule.configure(settings.data_dir, settings.backup_passphrase)  # the passphrase stays in memory
    if settings.accept_any_ae:
        options.override('accept_any_ae', True)


def _start_jobs(settings: Settings, *, run_workers: bool) -> None:
    import jobs.actors  # noqa: F401 - declares every actor
    from dicom import storage
    from jobs import broker, dispatch, forwarding, media, relay, runner, scheduler

    broker.setup(settings.redis_url)
    runner.configure(outage_retries=settings.job_outage_retries)
    storage.configure(settings.data_dir, min_free_bytes=settings.min_free_disk_mb * 1024 * 1024)
    if settings.redis_url:
        relay.start(settings.redis_url)
    dispatch.start()
    forwarding.start(settings)
    if run_workers:
        broker.start_workers(settings.worker_threads)
        dispatch.requeue_unfinished()
        media.requeue_receiving()
        forwarding.route_recent()
        scheduler.start()  # only where jobs run: the embedded serve, or each worker in the scaled mode


def _start_dicom(settings: Settings):
    """The DICOM listener in this process, its arrivals arming the study-complete decision."""
    from dicom import ingest, scp, storage
    from jobs import media

    storage.clear_incoming()  # only the receiving process may: partial files are its own, never acknowledged
    pipeline = ingest.Ingest(on_stored=media.arm)
    ingest.share(pipeline)
    return scp.start(settings, pipeline)


def _https(settings: Settings) -> dict[str, Any]:
    """With TLS on: /certificate, the plain-HTTP port redirecting to HTTPS, and ui.run's ssl options; else {}."""
    from nicegui import app

    from domain import tls
    from ui import asgi, certificate

    files = tls.certificate_files(settings)
    if files is None:
        return {}
    if settings.https_port == settings.http_port:
        raise SettingsError('PACS_HTTPS_PORT: must differ from PACS_HTTP_PORT, which redirects to it')
    cert, key = files
    certificate.register(cert)
    redirect = asgi.RedirectServer(settings.http_host, settings.http_port, settings.https_port)
    app.on_startup(redirect.start)
    app.on_shutdown(redirect.stop)
    fingerprint = tls.fingerprint(cert)
    log.info('HTTPS on port %s, certificate %s, SHA-256 %s', settings.https_port, cert, fingerprint)
    log.info('HTTP port %s only redirects to HTTPS', settings.http_port)
    print(f'TLS certificate SHA-256 fingerprint: {fingerprint}', flush=True)
    return {
        'ssl_certfile': str(cert),
        'ssl_keyfile': str(key),
        'session_middleware_kwargs': {'https_only': True},  # NiceGUI's browser-id cookie: Secure as well
    }


def _ensure_first_admin(settings: Settings) -> None:
    if users.count_admins():
        return
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(12)
    users.create(
        UserCreate(username='admin', full_name='Administrator', role=Role.ADMIN.value, password=password),
        by=system('start-up'),
    )
    if given is None:
        print(f'First administrator: user name "admin", password "{password}" (shown once; change it after login)')
    log.info('created the first administrator account')


def _backup_passphrase(settings: Settings, *, confirm: bool) -> str:
    """PACS_BACKUP_PASSPHRASE, or asked for on the terminal (twice when sealing)."""
    if settings.backup_passphrase is not None and settings.backup_passphrase.get_secret_value():
        return settings.backup_passphrase.get_secret_value()
    if not sys.stdin.isatty():
        raise SettingsError('PACS_BACKUP_PASSPHRASE: not set (or give --public-key to seal, --key to open)')
    first = getpass.getpass('Backup passphrase: ')
    if confirm and first != getpass.getpass('Repeat: '):
        raise SettingsError('the passphrases do not match')
    return first


def _backup_identity(settings: Settings, key_file: Path | None) -> Any:
    """What opens an archive: the private key in `key_file`, else the passphrase."""
    from domain import sealed

    if key_file is not None:
        try:
            return sealed.PrivateKey(key_file.read_text())
        except OSError as error:
            raise SettingsError(f'--key: cannot read {key_file}: {error.strerror}') from None
    return sealed.Passphrase(_backup_passphrase(settings, confirm=False))


def _backup_keygen(private_out: Path) -> int:
    """A new key pair: the private half into a new 0600 file, the public half printed."""
    from domain import sealed

    public, private = sealed.generate_keypair()
    try:
        fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise SettingsError(f'--private-out: cannot create {private_out}: {error.strerror}') from None
    with os.fdopen(fd, 'w') as handle:
        handle.write(private + '\n')
    print(public)
    print(
        f'private key written to {private_out}: move it off this server (a USB key in a safe); '
        'only it opens backups sealed to the public key above'
    )
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass('Password: ')
        if first != getpass.getpass('Repeat: '):
            raise SettingsError('the passwords do not match')
        return first
    return sys.stdin.readline().rstrip('\n')


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
    )
    for noisy in ('pynetdicom', 'dramatiq', 'fontTools', 'weasyprint', 'httpx', 'alembic'):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='main.py', description="ClinicPACS: a clinic's imaging system")
    parser.add_argument('-v', '--verbose', action='store_true', help='log debug messages')
    commands = parser.add_subparsers(title='commands')
    commands.add_parser('serve', help='run the web UI, DICOM listener and jobs (default)').set_defaults(func=serve)
    commands.add_parser('worker', help='run job workers only (needs PACS_REDIS_URL)').set_defaults(func=worker)
    commands.add_parser('migrate', help='bring the database schema up to date').set_defaults(func=migrate)

    user_parser = commands.add_parser('user', help='manage staff accounts')
    user_parser.set_defaults(func=user)
    user_commands = user_parser.add_subparsers(dest='user_command', required=True)
    add = user_commands.add_parser('add', help='add an account')
    add.add_argument('username')
    add.add_argument('--role', required=True, choices=[role.value for role in Role])
    add.add_argument('--password', help='read from the terminal or standard input when omitted')
    add.add_argument('--full-name')
    add.add_argument(
        '--centre', help='the diagnostic centre the account works for, by name (the centre role needs one)'
    )
    passwd = user_commands.add_parser('passwd', help='set a new password')
    passwd.add_argument('username')
    passwd.add_argument('--password')
    user_commands.add_parser('disable', help='stop an account from signing in').add_argument('username')
    user_commands.add_parser('mfa-reset', help="turn off an account's two-step sign-in (lost phone)").add_argument(
        'username'
    )
    user_commands.add_parser('list', help='list accounts')

    backup_parser = commands.add_parser('backup', help='write a sealed archive of the database and the data directory')
    backup_parser.add_argument('--output', type=Path, help='folder for the archive (default: DATA_DIR/backups)')
    backup_parser.add_argument('--incremental', action='store_true', help='only files new since the last archive there')
    backup_parser.add_argument('--public-key', help='seal to this public key (text or file) instead of a passphrase')
    backup_parser.set_defaults(func=backup_command, backup_command=None)
    backup_commands = backup_parser.add_subparsers(dest='backup_command')
    for name, text in (
        ('verify', 'open an archive and check every member'),
        ('drill', 'restore into a scratch folder'),
    ):
        checked = backup_commands.add_parser(name, help=text)
        checked.add_argument('archive', type=Path)
        checked.add_argument('--key', type=Path, help='private key file (else the passphrase)')
    keygen = backup_commands.add_parser('keygen', help='make a key pair for sealing backups to a public key')
    keygen.add_argument('--private-out', type=Path, required=True, help='new file for the private key (0600)')
    restore_parser = commands.add_parser('restore', help='restore an archive (and its chain) into an empty database')
    restore_parser.add_argument('archive', type=Path)
    restore_parser.add_argument('--force', action='store_true', help='replace a database that holds data')
    restore_parser.add_argument('--key', type=Path, help='private key file (else the passphrase)')
    restore_parser.set_defaults(func=restore_command)

    commands.add_parser('scp', help='run the DICOM listener alone').set_defaults(func=scp_command)
    modality_parser = commands.add_parser('modality', help='manage the modalities that may send images')
    modality_parser.set_defaults(func=modality_command)
    modality_commands = modality_parser.add_subparsers(dest='modality_command', required=True)
    modality_add = modality_commands.add_parser('add', help='enter a modality')
    modality_add.add_argument('ae_title')
    modality_add.add_argument('host')
    modality_add.add_argument('port', type=int)
    modality_add.add_argument('--modality', default='OT', help='CT, MR, US, CR, DX, … (default OT)')
    modality_add.add_argument('--room')
    modality_add.add_argument('--description')
    modality_add.add_argument('--any-host', action='store_true', help='accept its AE title from any address')
    modality_add.add_argument('--tls-required', action='store_true', help='accept it only on the DICOM TLS port')
    modality_commands.add_parser('list', help='list modalities')

    commands.add_parser('demo', help='fill a new, empty database with a demo clinic day').set_defaults(
        func=demo_command
    )
    audit_parser = commands.add_parser('audit', help='check the audit trail')
    audit_parser.set_defaults(func=audit_command)
    audit_parser.add_subparsers(dest='audit_command', required=True).add_parser('verify', help='check the chain')
    return parser


if __name__ == '__main__':
    sys.exit(main())
