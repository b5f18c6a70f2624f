"""Regenerate the initial migration from the models (`make migration`), while nothing is released yet.

Once a release is out, add new revisions with `alembic revision --autogenerate` instead.
"""

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from domain import db
from domain.settings import Settings

VERSIONS = Path(__file__).resolve().parent / 'versions'


def main() -> None:
    for old in VERSIONS.glob('0001_*.py'):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db.configure(Settings(data_dir=Path(tmp)))
        config = Config()
        config.set_main_option('script_location', str(db.MIGRATIONS_DIR))
        with db.engine().begin() as connection:
            config.attributes['connection'] = connection
            command.revision(config, message='initial', autogenerate=True, rev_id='0001')
        db.dispose()
    for new in VERSIONS.glob('0001_*.py'):
        print(f'wrote {new.relative_to(Path.cwd())}')


if __name__ == '__main__':
    main()
