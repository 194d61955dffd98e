"""Browser tests (Playwright + Debian's Chromium). A package, so that its conftest
does not shadow tests/conftest.py, which the test modules import as ``conftest``."""
