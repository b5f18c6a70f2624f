"""Attack tests reuse the live server and chromium of the browser tests."""

from tests.browser.conftest import browser, served  # noqa: F401 - fixtures for the tests here
