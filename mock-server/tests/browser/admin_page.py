"""Drives /__admin/ in headless Chromium (Debian's chromium + chromedriver, no download): switches
`bola` on by clicking its switch, then waits until the live counters move (requests and cross-user
reads) while the Rust test runs load, and saves a screenshot.

usage: admin_page.py BASE_URL SCREENSHOT_PATH
Prints one line per step; exits non-zero (with the reason) on any failure.
"""

import os
import sys

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch a driver or browser.

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("RACEBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RACEBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT_S = 60


def number(driver, element_id):
    text = driver.find_element(By.ID, element_id).text.strip()
    return int(text) if text.isdigit() else -1


def main(base, screenshot):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run scripts/test-deps.sh (apt packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1150", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(base + "/__admin/")
        wait = WebDriverWait(driver, WAIT_S)
        switch = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, 'input.switch[data-fault="bola"]'))
        assert not switch.is_selected(), "bola starts off"
        print("page loaded, catalogue rendered", flush=True)
        switch.click()
        wait.until(lambda d: "on" in d.find_element(By.ID, "fault-bola").get_attribute("class").split())
        print("clicked bola on; the page shows it on", flush=True)
        # Tell the Rust side, which checks /__admin/faults and starts the load.
        print("READY", flush=True)
        # number() is -1 until the first poll lands; + 1 keeps a count of 0 truthy for the wait.
        first = wait.until(lambda d: number(d, "requests-total") + 1) - 1
        wait.until(lambda d: number(d, "requests-total") >= first + 20)
        print(f"requests counter moved from {first} to {number(driver, 'requests-total')}", flush=True)
        wait.until(lambda d: number(d, "cross-user-reads") >= 1)
        print(f"cross-user reads counter shows {number(driver, 'cross-user-reads')}", flush=True)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#requests tbody tr")) > 0)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#journal tbody tr")) > 0)
        print("both journal tails show entries", flush=True)
        driver.save_screenshot(screenshot)
        print(f"screenshot {screenshot}", flush=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
