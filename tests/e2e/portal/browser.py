"""Debian's Chromium driven by Playwright (never `playwright install`: nothing is downloaded).

`make test` installs the `chromium` package when /usr/bin/chromium is missing. Screenshots go to
PORTAL_SCREENSHOTS when it is set (`make screenshots` sets it to docs/portal/), else to the test's
temporary folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach the internet at every start.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (one stat before starting a browser)
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package (as root)", pytrace=False)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["PORTAL_SCREENSHOTS"]) if os.environ.get("PORTAL_SCREENSHOTS") else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def snap(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
