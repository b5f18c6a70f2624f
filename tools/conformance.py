"""Write the DICOM conformance statement (dicom/conformance.py) to docs/conformance.md, or check that it is current.

    .venv/bin/python tools/conformance.py           # (re)write docs/conformance.md
    .venv/bin/python tools/conformance.py --check   # exit 1 when docs/conformance.md differs from the code

The statement reads the listener's AE as dicom/scp.py builds it and the /dicomweb routes every screen registers, with
the settings' defaults (never this environment's PACS_* values), so anyone generating it gets the same file.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / 'docs' / 'conformance.md'


def generate() -> str:
    """The statement for the code as it is: every page and route registered on NiceGUI's app, the listener's AE."""
    sys.path.insert(0, str(ROOT))
    from nicegui import app

    from dicom import conformance
    from ui import register_pages

    register_pages()
    return conformance.render_markdown(conformance.statement(app.routes))


def main() -> int:
    """Write docs/conformance.md, or with --check say whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='only compare; exit 1 when the file is out of date')
    arguments = parser.parse_args()
    text = generate()
    current = TARGET.read_text(encoding='utf-8') if TARGET.exists() else ''
    if arguments.check:
        if current != text:
            print(f'{TARGET.relative_to(ROOT)} is out of date: run .venv/bin/python tools/conformance.py')
            return 1
        print(f'{TARGET.relative_to(ROOT)} is current')
        return 0
    if current != text:
        TARGET.write_text(text, encoding='utf-8')
        print(f'wrote {TARGET.relative_to(ROOT)}')
    else:
        print(f'{TARGET.relative_to(ROOT)} unchanged')
    return 0


if __name__ == '__main__':
    sys.exit(main())
