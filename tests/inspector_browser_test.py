"""`hookline serve`'s inspector page in a real headless browser (Debian's chromium, driven
through chromedriver): signed events sent to serve show up live with their verdicts and
processing, the filters work, a replay from the page shows up as a duplicate, and no voucher code
or secret ever reaches the page.

    python tests/inspector_browser_test.py [--hookline target/debug/hookline] [--screenshot docs/src/inspector.png]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "events/payloads"
# What must never reach the page: the sample order's codes and PINs, and the test secrets.
ORDER = json.loads((ROOT / "events/provider-api/orders/12345.json").read_text())["data"]
NEVER_SHOWN = [v["code"] for v in ORDER["vouchers"]] + [
    "hookline-octopus-test-secret",
    "hookline-coinme-test-secret",
    "hookline-optty-test-path-token",
]


def start_serve(hookline, log):
    process = subprocess.Popen(
        [hookline, "serve", "--listen", "127.0.0.1:0", "--provider-stub-listen", "127.0.0.1:0",
         "--no-archive"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("w"), env={"RUST_LOG": "info", "PATH": "/usr/bin:/bin"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on http://(\S+)", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            sys.exit(f"serve exited: {log.read_text()}")
        time.sleep(0.2)
    sys.exit("serve did not start")


def sign_and_send(hookline, addr, provider, payload, tamper=False):
    """`hookline sign … | sh`, as the README does; `tamper` changes the body after signing."""
    route = "octopus" if provider == "octopus" else provider
    line = subprocess.run(
        [hookline, "sign", "--provider", provider, "--url", f"http://{addr}/webhooks/{route}", str(payload)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    if tamper:
        # The signed line with one byte of its body changed: the signature no longer matches.
        assert '"quantity":5' in line, line
        line = line.replace('"quantity":5', '"quantity":6', 1)
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True).stdout


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1500,900", f"--user-data-dir={tempfile.mkdtemp(prefix='hookline-chromium-')}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#rows tr")


def wait(driver, what, check, seconds=20):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.2).until(lambda d: check(d))
    except Exception:
        sys.exit(f"FAILED: {what}\npage: {driver.find_element(By.ID, 'rows').text}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hookline", default=str(ROOT / "target/debug/hookline"))
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="hookline-inspector-")) / "serve.log"
    serve, addr = start_serve(args.hookline, log)
    driver = browser()
    try:
        driver.get(f"http://{addr}/_hookline/")
        wait(driver, "the page goes live", lambda d: d.find_element(By.ID, "live").text == "live")

        # Sent after the page opened: they must arrive live, over server-sent events.
        answer = sign_and_send(args.hookline, addr, "octopus", PAYLOADS / "octopus/order-delivered.json")
        assert '"received":true' in answer, answer
        answer = sign_and_send(args.hookline, addr, "coinme", PAYLOADS / "coinme/caas-buy-failed.json")
        assert '"received":true' in answer, answer
        forged = sign_and_send(args.hookline, addr, "octopus", PAYLOADS / "octopus/order-delivered.json", tamper=True)
        assert "invalid_signature" in forged, forged

        wait(driver, "three requests listed", lambda d: len(rows(d)) == 3)
        wait(driver, "the delivery processed and its update published",
             lambda d: "order update published" in d.find_element(By.ID, "rows").text)
        text = driver.find_element(By.ID, "rows").text
        assert "accepted 200" in text and "refused 401" in text and "invalid_signature" in text, text
        assert "evt_abc123" in text and "order.delivered" in text and "order 12345" in text, text

        # Filters: refused only, then coinme only, then back to all.
        Select(driver.find_element(By.ID, "f-verdict")).select_by_visible_text("refused")
        wait(driver, "verdict filter", lambda d: len(rows(d)) == 1 and "refused" in rows(d)[0].text)
        Select(driver.find_element(By.ID, "f-verdict")).select_by_visible_text("all")
        Select(driver.find_element(By.ID, "f-provider")).select_by_visible_text("coinme")
        wait(driver, "provider filter", lambda d: len(rows(d)) == 1 and "coinme" in rows(d)[0].text)
        Select(driver.find_element(By.ID, "f-provider")).select_by_visible_text("all")
        driver.find_element(By.ID, "f-order").send_keys("12345")
        wait(driver, "order filter", lambda d: len(rows(d)) == 1 and "evt_abc123" in rows(d)[0].text)
        driver.find_element(By.ID, "f-order").clear()
        driver.execute_script("document.getElementById('f-order').dispatchEvent(new Event('input'))")
        wait(driver, "filters cleared", lambda d: len(rows(d)) == 3)

        # Replay the accepted delivery from the page: a new request, processed as a duplicate.
        delivered = [r for r in rows(driver) if "evt_abc123" in r.text and "accepted" in r.text][0]
        delivered.find_element(By.CSS_SELECTOR, "button.replay").click()
        wait(driver, "the replay listed as a duplicate",
             lambda d: len(rows(d)) == 4 and "duplicate" in rows(d)[0].text and "evt_abc123" in rows(d)[0].text)

        # Copy as curl is offered for a signed body, not where the path holds a secret.
        assert rows(driver)[0].find_elements(By.CSS_SELECTOR, "button.curl")

        page = driver.page_source + json.dumps(json.loads(
            subprocess.run(["curl", "-s", f"http://{addr}/_hookline/requests"], capture_output=True, text=True).stdout))
        leaked = [secret for secret in NEVER_SHOWN if secret in page]
        assert not leaked, f"on the page: {leaked}"
        assert "<redacted>" in page, "the order update is shown masked"
        if args.screenshot:
            driver.save_screenshot(str(args.screenshot))
        print("inspector page: 4 requests live with their verdicts, filters, replay shown as duplicate, nothing secret on the page")
    finally:
        driver.quit()
        serve.terminate()
        serve.wait(timeout=10)


if __name__ == "__main__":
    main()
