"""Configuration from PACS_* environment variables and an optional .env file."""

import logging
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

LANGUAGES = ('en', 'ru', 'es', 'fr', 'de')
_ORIGIN = re.compile(r'https?://([A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?/?')  # scheme, host, port


class Settings(BaseSettings):
    """Everything the program reads from its environment; built once in main.py and passed down."""

    model_config = SettingsConfigDict(env_prefix='PACS_', env_file='.env', extra='ignore')

    data_dir: Path = Path('data')
    database_url: str | None = None  # None: SQLite inside data_dir
    redis_url: str | None = None  # None: in-process broker and event bus
    http_host: str = '0.0.0.0'
    http_port: int = Field(8080, ge=1, le=65535)
    ae_title: str = Field('CLINICPACS', min_length=1, max_length=16)
    dicom_port: int = Field(11112, ge=0, le=65535)  # 0: any free port (tests)
    accept_any_ae: bool = False
    dicom_listener: bool = True  # false: `serve` leaves the listener to a separate `main.py scp` process
    admin_password: SecretStr | None = None
    secret: SecretStr | None = None
    idle_timeout_minutes: int = Field(15, ge=1, le=24 * 60)
    session_lifetime_hours: int = Field(8, ge=1, le=24 * 7)  # clinical roles and admins
    kiosk_session_lifetime_hours: int = Field(24, ge=1, le=24 * 31)
    mfa_required: Literal['', 'admin', 'all'] = ''  # who must sign in with a second factor
    tls: Literal['', 'auto'] = ''  # auto: a certificate for this host is generated into the data directory
    tls_cert: Path | None = None  # PEM certificate (chain) to serve HTTPS and DICOM TLS with
    tls_key: Path | None = None  # its PEM private key
    https_port: int = Field(8443, ge=0, le=65535)  # with TLS on: HTTPS here, PACS_HTTP_PORT redirects to it
    dicom_tls_port: int = Field(2762, ge=0, le=65535)  # with TLS on: DICOM TLS listener (0: any free port)
    cors_origins: str = ''  # comma-separated origins besides the server's own (an OHIF viewer): may call, read DICOMweb
    allowed_origins: str = ''  # the older name of cors_origins, still read; the two lists are one
    dicom_peer_associations: int = Field(4, ge=1, le=64)  # simultaneous associations from one address
    dicom_request_timeout_s: float = Field(5.0, gt=0, le=120)  # a connection silent this long is dropped
    language: str = 'en'
    worker_threads: int = Field(2, ge=1, le=64)
    job_outage_retries: int = Field(30, ge=0, le=1000)  # retries while PostgreSQL/Redis is down, then the sweeper
    web_processes: int = Field(1, ge=1, le=32)  # >1: `serve` supervises this many web processes behind a proxy
    min_free_disk_mb: int = Field(500, ge=0)
    encrypt_at_rest: bool = False  # DICOM files, thumbnails and PDFs written sealed with a data key (domain/at_rest)
    at_rest_key_file: Path | None = None  # wraps that data key; outside the data directory, 0600, kept apart
    backup_passphrase: SecretStr | None = None  # seals backup archives (or a prompt, or a public key)
    models_dir: Path | None = None  # ONNX draft models and their manifests (dicom/onnx_models.py); <data dir>/models

    @field_validator('database_url')
    @classmethod
    def _database_url_parses(cls, value: str | None) -> str | None:
        if value:
            try:
                make_url(value)
            except ArgumentError as error:
                raise ValueError(f'not a database URL: {error}') from None
        return value or None

    @field_validator('redis_url')
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(('redis://', 'rediss://', 'unix://')):
            raise ValueError('must start with redis://, rediss:// or unix://')
        return value or None

    @field_validator('at_rest_key_file', 'tls_cert', 'tls_key', 'models_dir', mode='before')
    @classmethod
    def _key_file_unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator('ae_title')
    @classmethod
    def _ae_title_chars(cls, value: str) -> str:
        if not value.strip() or '\\' in value or any(ord(c) < 32 for c in value):
            raise ValueError('AE title must be 1-16 printable characters without backslash')
        return value.strip()

    @field_validator('language')
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f'must be one of {", ".join(LANGUAGES)}')
        return value

    @field_validator('cors_origins', 'allowed_origins')
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(','))):
            if not _ORIGIN.fullmatch(origin):  # never `*` or `null`: credentials go along with CORS answers
                raise ValueError(f'{origin!r} is not an origin like https://viewer.clinic.lan:3000')
        return value

    @property
    def tls_enabled(self) -> bool:
        """HTTPS and DICOM TLS are on (a certificate was given or is generated)."""
        return bool(self.tls or self.tls_cert)

    @property
    def origins(self) -> list[str]:
        """The origins allowed besides the server's own: PACS_CORS_ORIGINS and PACS_ALLOWED_ORIGINS, one list."""
        listed = f'{self.cors_origins},{self.allowed_origins}'.split(',')
        return list(dict.fromkeys(part.strip().rstrip('/') for part in listed if part.strip()))

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, SQLite in the data directory unless PACS_DATABASE_URL says otherwise."""
        return self.database_url or f'sqlite:///{(self.data_dir / "clinicpacs.sqlite3").resolve()}'

    def secret_value(self) -> str:
        """The session signing secret, generated once into the data directory when not configured."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        path = self.data_dir / 'secret.key'
        if not path.exists():
            import os
            import secrets

            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, even briefly
            with os.fdopen(fd, 'w') as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


class SettingsError(Exception):
    """A PACS_* variable has a value the program cannot use."""


def load(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = 'PACS_' + str(first['loc'][0]).upper() if first['loc'] else 'PACS_*'
        raise SettingsError(f'{name}: {first["msg"]}') from None
