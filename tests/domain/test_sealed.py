import io
import secrets
import tarfile

import pytest

from domain import sealed
from domain.errors import InvalidInput

SEGMENT = sealed.SEGMENT
SIZES = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3_000_000]


@pytest.fixture(autouse=True)
def _quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)  # the work factor is stored in each file; tests need no more


@pytest.fixture(scope='module')
def keypair() -> tuple[str, str]:
    return sealed.generate_keypair()


@pytest.fixture(scope='module')
def plaintext() -> bytes:
    return secrets.token_bytes(max(SIZES))


def _seal(data: bytes, recipient: sealed.Recipient, *, chunk: int = 10_000) -> tuple[bytes, bytes]:
    out = io.BytesIO()
    with sealed.sealing(out, recipient) as writer:
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
    return out.getvalue(), writer.file_key


def _open(data: bytes, identity: sealed.Identity) -> bytes:
    with sealed.opening(io.BytesIO(data), identity) as reader:
        return reader.read()


def _identities(keypair: tuple[str, str]) -> list[tuple[sealed.Recipient, sealed.Identity]]:
    key = secrets.token_bytes(32)
    return [
        (sealed.Passphrase('correct horse battery staple'), sealed.Passphrase('correct horse battery staple')),
        (sealed.PublicKey(keypair[0]), sealed.PrivateKey(keypair[1])),
        (sealed.SecretKey(key), sealed.SecretKey(key)),
    ]


@pytest.mark.parametrize('size', SIZES)
def test_every_recipient_opens_what_was_sealed_for_it(size: int, keypair: tuple[str, str], plaintext: bytes) -> None:
    data = plaintext[:size]
    for recipient, identity in _identities(keypair):
        blob, file_key = _seal(data, recipient)
        assert data[:64] not in blob or size < 16
        assert _open(blob, identity) == data
        assert _open(blob, sealed.FileKey(file_key)) == data
        with sealed.SealedReader(io.BytesIO(blob), identity) as reader:
            assert reader.size == size
            assert reader.read() == data


def test_the_sealed_size_is_the_plaintext_plus_a_tag_per_segment(plaintext: bytes) -> None:
    blob, _ = _seal(plaintext[: 2 * SEGMENT + 5], sealed.SecretKey(bytes(32)))
    header = len(blob) - (2 * SEGMENT + 5) - 3 * sealed.TAG
    empty, _ = _seal(b'', sealed.SecretKey(bytes(32)))
    assert len(empty) == header + sealed.TAG


def test_a_wrong_passphrase_is_told_apart_from_damage(plaintext: bytes) -> None:
    blob, _ = _seal(plaintext[:1000], sealed.Passphrase('right'))
    with pytest.raises(sealed.WrongKey, match='does not open this backup'):
        _open(blob, sealed.Passphrase('wrong'))
    assert isinstance(sealed.WrongKey(), InvalidInput)


def test_a_wrong_private_key_or_another_kind_of_identity_does_not_open(
    keypair: tuple[str, str], plaintext: bytes
) -> None:
    blob, _ = _seal(plaintext[:1000], sealed.PublicKey(keypair[0]))
    _, other_private = sealed.generate_keypair()
    for identity in (sealed.PrivateKey(other_private), sealed.Passphrase('anything'), sealed.SecretKey(bytes(32))):
        with pytest.raises(sealed.WrongKey):
            _open(blob, identity)
        with pytest.raises(sealed.WrongKey):
            sealed.SealedReader(io.BytesIO(blob), identity)


def test_a_file_sealed_to_several_recipients_opens_with_each(keypair: tuple[str, str]) -> None:
    blob, _ = _seal(b'report', [sealed.Passphrase('pass'), sealed.PublicKey(keypair[0])])  # type: ignore[arg-type]
    assert _open(blob, sealed.Passphrase('pass')) == b'report'
    assert _open(blob, sealed.PrivateKey(keypair[1])) == b'report'


def _damaged(keypair: tuple[str, str], plaintext: bytes) -> dict[str, bytes]:
    blob, _ = _seal(plaintext[: 3 * SEGMENT + 100], sealed.PublicKey(keypair[0]))
    payload = len(blob) - (3 * SEGMENT + 100) - 4 * sealed.TAG
    step = SEGMENT + sealed.TAG

    def flipped(at: int) -> bytes:
        return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]

    first, second = blob[payload : payload + step], blob[payload + step : payload + 2 * step]
    return {
        'header nonce': flipped(len(sealed.MAGIC) + 3),
        'wrapped file key': flipped(payload - 40),
        'header mac': flipped(payload - 1),
        'a segment': flipped(payload + step + 7),
        'the last segment': flipped(len(blob) - 3),
        'truncated mid-segment': blob[:-50],
        'truncated at a segment boundary': blob[: payload + 2 * step],
        'only the header': blob[:payload],
        'appended bytes': blob + b'\x00' * 20,
        'an appended segment': blob + blob[payload : payload + step],
        'swapped segments': blob[:payload] + second + first + blob[payload + 2 * step :],
    }


@pytest.mark.parametrize(
    'damage',
    [
        'header nonce',
        'wrapped file key',
        'header mac',
        'a segment',
        'the last segment',
        'truncated mid-segment',
        'truncated at a segment boundary',
        'only the header',
        'appended bytes',
        'an appended segment',
        'swapped segments',
    ],
)
def test_a_changed_or_incomplete_file_is_refused(damage: str, keypair: tuple[str, str], plaintext: bytes) -> None:
    blob = _damaged(keypair, plaintext)[damage]
    identity = sealed.PrivateKey(keypair[1])
    with pytest.raises(sealed.Tampered, match='has been changed or is incomplete'):
        _open(blob, identity)
    with pytest.raises(sealed.Tampered):
        with sealed.SealedReader(io.BytesIO(blob), identity) as reader:
            reader.read()


def test_a_plain_file_is_not_sealed() -> None:
    with pytest.raises(sealed.NotSealed):
        _open(b'\x00' * 128 + b'DICM', sealed.Passphrase('x'))
    assert not sealed.is_sealed(io.BytesIO(b'DICM'))
    assert sealed.is_sealed(io.BytesIO(sealed.seal_bytes(b'', sealed.SecretKey(bytes(32)))))


def test_random_reads_equal_the_plaintext_slices(plaintext: bytes) -> None:
    data = plaintext[: 5 * SEGMENT + 123]
    key = sealed.SecretKey(secrets.token_bytes(32))
    blob = sealed.seal_bytes(data, key)
    reader = sealed.SealedReader(io.BytesIO(blob), key)
    picks = [(0, 10), (SEGMENT - 3, 7), (3 * SEGMENT + 5, 2 * SEGMENT), (len(data) - 1, 10), (len(data) + 5, 4)]
    picks += [(secrets.randbelow(len(data)), secrets.randbelow(3 * SEGMENT)) for _ in range(20)]
    for start, length in picks:
        reader.seek(start)
        assert reader.read(length) == data[start : start + length]
        assert reader.tell() == max(start, min(start + length, len(data)))
    reader.seek(-10, io.SEEK_END)
    assert reader.read() == data[-10:]
    buffer = bytearray(100)
    reader.seek(SEGMENT - 50)
    assert reader.readinto(buffer) == 100
    assert bytes(buffer) == data[SEGMENT - 50 : SEGMENT + 50]


def test_a_sealed_tar_streams_through_tarfile(plaintext: bytes) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode='w') as tar:
        info = tarfile.TarInfo('member.bin')
        info.size = 200_000
        tar.addfile(info, io.BytesIO(plaintext[:200_000]))
    blob, _ = _seal(archive.getvalue(), sealed.Passphrase('pass'))
    with (
        sealed.opening(io.BytesIO(blob), sealed.Passphrase('pass')) as reader,
        tarfile.open(fileobj=reader, mode='r|') as tar,
    ):
        member = tar.next()
        assert member is not None
        extracted = tar.extractfile(member)
        assert extracted is not None
        assert extracted.read() == plaintext[:200_000]


def test_key_texts_round_trip_and_malformed_ones_are_refused() -> None:
    public, private = sealed.generate_keypair()
    assert public.startswith('clinicpacs-pub-')
    assert private.startswith('CLINICPACS-SECRET-')
    assert sealed.PrivateKey(private).public == sealed.PublicKey(public)
    assert private not in repr(sealed.PrivateKey(private))
    changed = public[:-3] + ('A' if public[-3] != 'A' else 'B') + public[-2:]
    for bad in ('', 'clinicpacs-pub-', public[:-2], changed, private, 'age1qqqq', public + 'AAAA'):
        with pytest.raises(InvalidInput, match='not a ClinicPACS public key'):
            sealed.PublicKey(bad)
    with pytest.raises(InvalidInput, match='not a ClinicPACS private key'):
        sealed.PrivateKey(public)
    with pytest.raises(InvalidInput):
        sealed.Passphrase('')


def test_a_writer_that_fails_leaves_a_file_that_does_not_open() -> None:
    out = io.BytesIO()
    with pytest.raises(RuntimeError), sealed.sealing(out, sealed.SecretKey(bytes(32))) as writer:
        writer.write(b'x' * (SEGMENT + 10))
        raise RuntimeError('disk full')
    with pytest.raises(sealed.Tampered):
        _open(out.getvalue(), sealed.SecretKey(bytes(32)))
