import pytest

from domain.settings import SettingsError, load


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load()
    assert (settings.http_port, settings.dicom_port, settings.ae_title) == (8080, 11112, 'CLINICPACS')
    assert settings.sqlalchemy_url.startswith('sqlite:///')
    assert settings.redis_url is None


@pytest.mark.parametrize(
    ('variable', 'value'),
    [
        ('PACS_HTTP_PORT', '70000'),
        ('PACS_DICOM_PORT', 'eleven'),
        ('PACS_DATABASE_URL', 'not a url at all'),
        ('PACS_REDIS_URL', 'http://127.0.0.1:6379'),
        ('PACS_AE_TITLE', 'A_TITLE_LONGER_THAN_16'),
        ('PACS_LANGUAGE', 'klingon'),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load()
    message = str(error.value)
    assert message.startswith(f'{variable}:')
    assert '\n' not in message


def test_a_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / '.env').write_text('PACS_HTTP_PORT=9099\nPACS_AE_TITLE=FRONTDESK\n')
    settings = load()
    assert (settings.http_port, settings.ae_title) == (9099, 'FRONTDESK')


def test_a_malformed_dotenv_stops_with_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / '.env').write_text('PACS_HTTP_PORT=eighty\n')
    with pytest.raises(SettingsError, match=r'^PACS_HTTP_PORT:'):
        load()


def test_the_secret_is_generated_once_into_the_data_dir(tmp_path) -> None:
    settings = load(data_dir=tmp_path / 'data')
    first = settings.secret_value()
    assert first == load(data_dir=tmp_path / 'data').secret_value()
    assert len(first) > 40
    assert oct((tmp_path / 'data' / 'secret.key').stat().st_mode & 0o777) == '0o600'
