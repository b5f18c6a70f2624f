"""The server bench/uiload.py measures: a `main.py serve` of its own on a prepared clinic, restartable on the same
data; with `web_processes` > 1 the scaled set-up of deploy/README.md instead (its own redis-server, `main.py serve`
supervising the web processes, a `main.py worker`, HAProxy with deploy/haproxy.cfg in front); or one at a URL."""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.startup import free_port, serve_env, wait_http

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d')  # a log record's first line (main.py's format)


class Server:
    """The server under test; `pids` are the roots of its process tree (for CPU and memory)."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.processes: list[subprocess.Popen] = []
        self.pids: list[int] = list(args.server_pid)
        self.web_processes = args.web_processes
        self.work = work
        if args.url:
            if args.plan is None:
                raise SystemExit('--url needs --plan (the JSON bench/uiload_data.py printed for that server)')
            self.url, self.plan = args.url.rstrip('/'), json.loads(args.plan.read_text())
            self.env: dict[str, str] | None = None
            return
        self.data_dir = work / 'data'
        port = _free_run(self.web_processes + 1) if self.web_processes > 1 else free_port()
        self.env = serve_env(self.data_dir, port)
        self.url = f'http://127.0.0.1:{port}'
        print(f'preparing the clinic ({args.patients} patients, {args.appointments} more appointments today)…')
        subprocess.run([sys.executable, 'main.py', 'demo'], cwd=ROOT, env=self.env, check=True, capture_output=True)
        filled = subprocess.run(
            [
                sys.executable,
                'bench/uiload_data.py',
                str(self.data_dir),
                f'--patients={args.patients}',
                f'--appointments={args.appointments}',
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.plan = json.loads(filled.stdout.strip().splitlines()[-1])
        self.log_path = work / 'serve.log'

    def start(self) -> None:
        """Start our own server (nothing when it runs already, or when measuring one at a URL)."""
        if self.processes or self.env is None:
            return
        try:
            if self.web_processes > 1:
                self._start_scaled()
            else:
                serve = self._run([sys.executable, 'main.py', 'serve'], self.env)
                wait_http(f'{self.url}/health', serve)
            self.pids = [process.pid for process in self.processes]
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process we started, the last started first."""
        while self.processes:
            process = self.processes.pop()
            process.terminate()
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def errors_logged(self) -> list[str]:
        """The ERROR records in our server's log so far, each as its first line and its last (the exception)."""
        if self.env is None or not self.log_path.exists():
            return []
        records: list[list[str]] = []
        for line in self.log_path.read_text(errors='replace').splitlines():
            if STAMP.match(line) or not records:
                records.append([line])
            else:
                records[-1].append(line)
        return [
            record[0][:200] + (f' … {record[-1].strip()[:200]}' if len(record) > 1 else '')
            for record in records
            if ' ERROR ' in record[0]
        ]

    def _start_scaled(self) -> None:
        assert self.env is not None
        redis_server, haproxy = shutil.which('redis-server'), shutil.which('haproxy') or '/usr/sbin/haproxy'
        if redis_server is None or not Path(haproxy).exists():
            raise SystemExit('--web-processes needs redis-server and haproxy')
        redis_port = free_port()
        redis_dir = self.work / 'redis'
        redis_dir.mkdir(exist_ok=True)
        self._run(
            [redis_server, '--port', str(redis_port), '--save', '', '--appendonly', 'no', '--dir', str(redis_dir)]
        )
        _wait_listening(redis_port)
        port = int(self.env['PACS_HTTP_PORT'])
        env = {
            **self.env,
            'PACS_REDIS_URL': f'redis://127.0.0.1:{redis_port}/0',
            'PACS_WEB_PROCESSES': str(self.web_processes),
        }
        serve = self._run([sys.executable, 'main.py', 'serve'], env)
        self._run([sys.executable, 'main.py', 'worker'], env)
        proxy_env = {
            **os.environ,
            'PACS_PROXY_BIND': f'127.0.0.1:{port}',
            'PACS_WEB_HOST': '127.0.0.1',
            **{f'PACS_WEB_PORT_{n}': str(port + n) for n in range(1, self.web_processes + 1)},
        }
        self._run([haproxy, '-db', '-f', str(self._haproxy_config())], proxy_env)
        for n in range(1, self.web_processes + 1):
            wait_http(f'http://127.0.0.1:{port + n}/login', serve, timeout=120)
        wait_http(f'{self.url}/login', serve)

    def _haproxy_config(self) -> Path:
        """deploy/haproxy.cfg, with a server line per web process beyond its two."""
        config = (ROOT / 'deploy' / 'haproxy.cfg').read_text()
        extra = ''.join(
            f'    server web{n} "${{PACS_WEB_HOST}}:${{PACS_WEB_PORT_{n}}}" cookie web{n}\n'
            for n in range(3, self.web_processes + 1)
        )
        target = self.work / 'haproxy.cfg'
        target.write_text(config.rstrip('\n') + '\n' + extra)
        return target

    def _run(self, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.log_path.open('a')
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.processes.append(process)
        return process


def _free_run(count: int) -> int:
    """The first of `count` consecutive free ports (the proxy's, then one per web process)."""
    for _ in range(100):
        first = free_port()
        if all(_is_free(first + n) for n in range(1, count)):
            return first
    raise RuntimeError(f'no {count} consecutive free ports')


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f'nothing listens on {port}')
