"""Attack tests reuse the screens of the UI tests, and the live server and chromium of the browser tests."""

from tests.browser.conftest import browser, served  # noqa: F401 - fixtures for the tests here
from tests.dicom.conftest import pacs  # noqa: F401 - the running listener, for DIMSE attacks
from tests.ui.conftest import screens  # noqa: F401
