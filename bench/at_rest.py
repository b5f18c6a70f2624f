"""What encryption at rest costs: ingest and rendered-frame latency with and without it, in the same run.

Two `main.py serve` processes run side by side, one plain, one with PACS_ENCRYPT_AT_REST (key file outside its
data directory). Each round C-STOREs the viewer benchmark's 200-slice 512×512 CT (fresh UIDs per round and
server) over one pynetdicom association, to each server in turn (the order alternates), timing the whole
association; then it GETs the viewer's rendered-frame URL of slices not viewed before (each a decode from the
stored file: what scrolling through a new series costs), of one slice again with a new window (the decoded-pixel
cache, memory only) and the WADO-RS retrieve of one instance as stored (the whole file, decrypted), again
interleaved. Medians and the encrypted/plain ratios are printed.

    .venv/bin/python bench/at_rest.py [--rounds 3] [--frames 40]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pydicom
from pydicom.uid import generate_uid
from pynetdicom import AE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import viewer_corpus
from bench.startup import ADMIN_PASSWORD, ROOT, free_port, serve_env, wait_http


@dataclass
class Server:
    name: str
    url: str
    dicom_port: int
    process: subprocess.Popen
    studies: list[list[tuple[str, str, str]]] = field(default_factory=list)  # per round: (study, series, sop)
    ingest_s: list[float] = field(default_factory=list)
    new_slice_ms: list[float] = field(default_factory=list)
    new_window_ms: list[float] = field(default_factory=list)
    retrieve_ms: list[float] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--frames', type=int, default=40, help='new slices viewed per round and server')
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix='bench-at-rest-'))
    corpus = viewer_corpus.build(Path(tempfile.gettempdir()) / 'viewer-corpus')['ct']
    datasets = [pydicom.dcmread(path) for path in corpus]
    megabytes = sum(path.stat().st_size for path in corpus) / 1e6
    (work / 'keys').mkdir()
    servers: list[Server] = []
    try:
        servers.append(_start('plain', work / 'plain', {}))
        key_file = str(work / 'keys' / 'at-rest.key')  # apart from the data directory
        servers.append(
            _start('encrypted', work / 'sealed', {'PACS_ENCRYPT_AT_REST': 'true', 'PACS_AT_REST_KEY_FILE': key_file})
        )
        print(f'corpus: {len(datasets)} CT slices, {megabytes:.0f} MB per round; {args.rounds} rounds', flush=True)
        for round_number in range(args.rounds):
            order = servers if round_number % 2 == 0 else servers[::-1]
            for server in order:
                server.ingest_s.append(_ingest(server, datasets))
            _view(order, round_number, args.frames)
        _report(servers, len(datasets), megabytes)
        _check_sealed(work / 'sealed')
        _cipher_cost(corpus)
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def _start(name: str, data_dir: Path, extra: dict[str, str]) -> Server:
    port, dicom_port = free_port(), free_port()
    env = serve_env(data_dir, port)
    env.update(PACS_DICOM_PORT=str(dicom_port), PACS_ACCEPT_ANY_AE='true', PACS_MIN_FREE_DISK_MB='0', **extra)
    log = (data_dir.parent / f'{name}.log').open('wb')
    process = subprocess.Popen([sys.executable, 'main.py', 'serve'], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/health', process)
    return Server(name, url, dicom_port, process)


def _ingest(server: Server, datasets: list[pydicom.Dataset]) -> float:
    """C-STORE every slice under fresh UIDs over one association; seconds until the last one is acknowledged."""
    study, series = generate_uid(), generate_uid()
    sent = []
    for dataset in datasets:
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study, series
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        sent.append((study, series, str(dataset.SOPInstanceUID)))
    ae = AE(ae_title='BENCH')
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    ae.add_requested_context(datasets[0].SOPClassUID, datasets[0].file_meta.TransferSyntaxUID)
    started = time.perf_counter()
    assoc = ae.associate('127.0.0.1', server.dicom_port, ae_title='CLINICPACS')
    if not assoc.is_established:
        raise RuntimeError(f'{server.name}: association refused')
    try:
        for dataset in datasets:
            status = assoc.send_c_store(dataset)
            if int(getattr(status, 'Status', -1)) != 0:
                raise RuntimeError(f'{server.name}: C-STORE answered {status}')
    finally:
        assoc.release()
    elapsed = time.perf_counter() - started
    server.studies.append(sent)
    return elapsed


def _view(servers: list[Server], round_number: int, frames: int) -> None:
    """Interleaved GETs of the viewer's frame URL (new slices, then one slice with new windows) and one retrieve."""
    clients = {s.name: httpx.Client(base_url=s.url, auth=('admin', ADMIN_PASSWORD), timeout=60) for s in servers}
    try:
        for n in range(frames):
            pair = servers if n % 2 == 0 else servers[::-1]
            for server in pair:
                study, series, sop = server.studies[round_number][(n * 7) % len(server.studies[round_number])]
                path = f'/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1/rendered'
                server.new_slice_ms.append(_timed(clients[server.name], path, 'image/jpeg'))
            for server in pair:
                study, series, sop = server.studies[round_number][0]
                path = f'/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1/rendered'
                server.new_window_ms.append(
                    _timed(clients[server.name], f'{path}?window={40 + n},{400 + n},linear', 'image/jpeg')
                )
            for server in pair:
                study, series, sop = server.studies[round_number][(n * 7 + 3) % len(server.studies[round_number])]
                path = f'/dicomweb/studies/{study}/series/{series}/instances/{sop}'
                server.retrieve_ms.append(
                    _timed(clients[server.name], path, 'multipart/related; type="application/dicom"; transfer-syntax=*')
                )
    finally:
        for client in clients.values():
            client.close()


def _timed(client: httpx.Client, path: str, accept: str) -> float:
    started = time.perf_counter()
    response = client.get(path, headers={'Accept': accept})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f'{client.base_url}{path} answered {response.status_code}: {response.text[:200]}')
    return elapsed


def _report(servers: list[Server], images: int, megabytes: float) -> None:
    plain, sealed = servers
    median = statistics.median
    rows = [
        ('ingest, s per 200 CT slices', median(plain.ingest_s), median(sealed.ingest_s)),
        ('ingest, images/s', images / median(plain.ingest_s), images / median(sealed.ingest_s)),
        ('ingest, MB/s', megabytes / median(plain.ingest_s), megabytes / median(sealed.ingest_s)),
        ('rendered frame, new slice, ms', median(plain.new_slice_ms), median(sealed.new_slice_ms)),
        ('rendered frame, new window, ms', median(plain.new_window_ms), median(sealed.new_window_ms)),
        ('WADO-RS instance retrieve, ms', median(plain.retrieve_ms), median(sealed.retrieve_ms)),
    ]
    print(f'{"median":<34} {"plain":>10} {"encrypted":>10} {"ratio":>7}')
    for name, a, b in rows:
        print(f'{name:<34} {a:>10.2f} {b:>10.2f} {b / a:>7.2f}')
    print(f'(ingest rounds: {len(plain.ingest_s)}; frame requests: {len(plain.new_slice_ms)} per server and kind)')


def _check_sealed(data_dir: Path) -> None:
    stored = next((data_dir / 'dicom').rglob('*.dcm'))
    head = stored.read_bytes()[:200]
    print(f'check: an encrypted store file starts {head[:20]!r}, DICM at 128: {head[128:132] == b"DICM"}')


def _cipher_cost(corpus: list[Path]) -> None:
    """The cipher alone, in this process: sealing and reading back the corpus' files (no server, no disk)."""
    import io
    import secrets

    from domain import sealed

    key = sealed.SecretKey(secrets.token_bytes(32))
    files = [path.read_bytes() for path in corpus]
    total = sum(len(data) for data in files) / 1e6
    started = time.perf_counter()
    blobs = [sealed.seal_bytes(data, key) for data in files]
    seal_s = time.perf_counter() - started
    started = time.perf_counter()
    for blob in blobs:
        with sealed.SealedReader(io.BytesIO(blob), key) as reader:
            reader.read()
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    for blob in blobs:
        with sealed.SealedReader(io.BytesIO(blob), key) as reader:
            reader.seek(132)
            reader.read(256)  # what a header read begins with: the key unwrapped, the last segment checked
    header_s = time.perf_counter() - started
    print(
        f'cipher alone: seal {total / seal_s:.0f} MB/s, read back {total / open_s:.0f} MB/s, '
        f'opening a {total / len(files):.2f} MB file for a header read {header_s / len(files) * 1e6:.0f} µs'
    )


if __name__ == '__main__':
    main()
