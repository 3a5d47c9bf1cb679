"""Debian's headless Chromium as the browser tests, the screenshots and the tab benchmark
start it (Playwright drives it; no browser is downloaded)."""

import os

CHROMIUM = os.environ.get("HJEPA_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling hosts this machine
# cannot reach.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ENTRY = "/data/plugin_entry.html?name=hjepa"  # the tab's iframe page
