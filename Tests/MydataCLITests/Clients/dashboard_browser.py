#!/usr/bin/env python3
"""The person's dashboard in a real browser: Debian's Chromium, driven by Selenium.

    dashboard_browser.py BASE_URL MYDATA_BINARY DATA_DIR WORK_DIR VECTORS.json

A person creates a key in the page, registers, confirms a car a maker attested (the party tools),
grants a demo request and sees it active; the maker pushes and the recipient pulls (party tools);
the person sees the delivery in the timeline, downloads the receipt and checks it in the page,
revokes, and the recipient's next pull is refused. Then a key made by the CLI is exported,
imported into a fresh browser profile, grants there, and the CLI revokes that grant. The page's
wire code is checked against bytes the broker's own code made (VECTORS.json), it loads nothing
from another origin, and no Content-Security-Policy violation is reported.

Exits 0 when every step holds, non-zero with a message otherwise.
"""
import json, os, random, subprocess, sys, tempfile, time, urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

base_url, mydata, data_dir, work, vectors_file = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
vectors = json.load(open(vectors_file))
origin = urllib.parse.urlsplit(base_url)


def fail(message):
    sys.exit("dashboard: " + message)


def cli(args, config, extra=None, check=True):
    env = dict(os.environ, MYDATA_BROKER=base_url, MYDATA_CONFIG_DIR=config, MYDATA_DATA_DIR=os.path.join(work, "none"))
    env.update(extra or {})
    run = subprocess.run([mydata] + args, env=env, capture_output=True, text=True, timeout=120)
    if check and run.returncode != 0:
        fail(f"mydata {' '.join(args)} exited {run.returncode}: {run.stderr}")
    return run


def party(party_id, args, check=True):
    return cli(["party"] + args, os.path.join(work, party_id), {
        "MYDATA_PARTY_KEY": os.path.join(data_dir, "keys", party_id + ".key"),
        "MYDATA_BROKER_KEY": os.path.join(data_dir, "keys", "broker.pub"),
        "MYDATA_PARTY_STATE": os.path.join(work, party_id + "-state.json")}, check)


def browser(profile, downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--user-data-dir={profile}",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--lang=en-US"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


class Page:
    def __init__(self, driver):
        self.driver = driver
        self.wait = WebDriverWait(driver, 30)

    def open(self, view=""):
        self.driver.get(base_url + "/" + ("#" + view if view else ""))
        self.wait.until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def view(self, name):
        """Shows a view, as the person does with its link: the link of the view shown reads it again."""
        self.driver.execute_script("""
            const name = arguments[0];
            document.body.dataset.view = "";
            if (location.hash === "#" + name) document.querySelector(`nav a[href="#${name}"]`).click(); else location.hash = name;
        """, name)
        self.wait.until(lambda d: d.execute_script("return document.body.dataset.view") == name
                        and d.execute_script("return !document.getElementById('main').hasAttribute('aria-busy')"))
        self.wait.until(lambda d: d.find_elements(By.ID, "view-title") or d.find_element(By.ID, "alert").text)
        return self

    def click(self, css):
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def confirm(self):
        self.wait.until(lambda d: d.execute_script("return document.getElementById('confirm').open"))
        self.driver.find_element(By.CSS_SELECTOR, "#confirm [data-answer=ok]").click()

    def status(self, contains):
        def seen(d):
            alert = d.find_element(By.ID, "alert").text
            if alert:
                fail(f"the page shows an error while waiting for '{contains}': {alert}")
            return contains in d.find_element(By.ID, "status").text
        self.wait.until(seen)

    def fits(self, what):
        """At 640 CSS pixels wide (a 1280-pixel window at 200% zoom) nothing needs sideways scrolling."""
        width = self.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            fail(f"{what} is {width[0]} px wide in a {width[1]} px window: it needs sideways scrolling at 200% zoom")

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def check_clean(self, what):
        violations = self.driver.execute_script("return window.mydataCSPViolations")
        if violations:
            fail(f"{what}: Content-Security-Policy violations: {violations}")
        loaded = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        foreign = [u for u in loaded + [self.driver.current_url] if urllib.parse.urlsplit(u).netloc not in ("", origin.netloc)]
        if foreign:
            fail(f"{what}: loaded from another origin: {foreign}")
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            # The refusals the test asked for are answers, not page errors; any other is.
            refusal = any(f"{base_url}{path} - Failed to load resource: the server responded with a status of {status}" in message
                          for path, status in expected_refusals)
            if "Content Security Policy" in message or entry.get("level") == "SEVERE" and not refusal:
                fail(f"{what}: the browser reported: {message}")


# The API refusals this test provokes on purpose (the browser logs each): a redemption beyond
# what is available.
expected_refusals = [("/v1/rewards/redemptions", 422)]


def shuffled(value):
    """The same JSON value with every object's keys in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        random.shuffle(keys)
        return {k: shuffled(value[k]) for k in keys}
    if isinstance(value, list):
        return [shuffled(v) for v in value]
    return value


def check_wire(page):
    """The page's BLAKE2b, canonical JSON, signing input and Ed25519 signature against the broker's bytes.

    The page gets the grant's payload with its keys in another order, indented and with every
    non-ASCII character escaped, so its canonical form has to come from its own encoder."""
    given = dict(vectors, grant=dict(vectors["grant"]))
    given["grant"]["payloadJSON"] = json.dumps(shuffled(json.loads(vectors["grant"]["payloadJSON"])), indent=2, ensure_ascii=True)
    result = page.driver.execute_async_script("""
        const [vectors, done] = arguments;
        (async () => {
          const wire = await import('/app/js/wire.js');
          const { blake2b } = await import('/app/js/blake2b.js');
          const out = {};
          out.blake2b = vectors.blake2b.map(v => wire.hex(blake2b(wire.bytes(v.input), v.bytes)));
          const payload = JSON.parse(vectors.grant.payloadJSON);    // keys shuffled, indented, escaped
          out.canonical = wire.canonicalJSON(payload);
          out.signingInput = wire.hex(wire.eventSigningInput(vectors.grant.streamID, 'consent.granted', 1, vectors.grant.author, vectors.grant.time, wire.bytes(out.canonical)));
          const seed = Uint8Array.from(vectors.grant.seed.match(/../g), h => parseInt(h, 16));
          const pkcs8 = wire.concat(Uint8Array.from([0x30,0x2e,0x02,0x01,0x00,0x30,0x05,0x06,0x03,0x2b,0x65,0x70,0x04,0x22,0x04,0x20]), seed);
          const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
          const signer = { id: vectors.grant.author, sign: async d => new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, d)) };
          const event = await wire.signedEvent(signer, 'consent.granted', payload, vectors.grant.time);
          out.signature = event.signature;
          out.streamID = event.streamID;
          out.consentID = wire.consentID(vectors.grant.requestID, vectors.grant.author);
          done(out);
        })().catch(e => done({ error: String(e) }));
    """, given)
    if "error" in result:
        fail("the wire check failed in the page: " + result["error"])
    expected = [v["hex"] for v in vectors["blake2b"]]
    if result["blake2b"] != expected:
        fail(f"BLAKE2b in the page {result['blake2b']} differs from libsodium's {expected}")
    for name in ["canonical", "signingInput", "signature", "streamID", "consentID"]:
        if result[name] != vectors["grant"][name]:
            fail(f"the page's {name} differs from the broker's: {result[name]!r} != {vectors['grant'][name]!r}")


def labelled(page):
    """Every control has a label or text (keyboard and screen-reader users need one)."""
    missing = page.driver.execute_script("""
        return [...document.querySelectorAll('input, select, button, textarea')].filter(e =>
          !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map(e => e.outerHTML);
    """)
    if missing:
        fail(f"controls without a label: {missing}")


def first_request(page, recipient, category="vehicle"):
    page.view("requests")
    for article in page.driver.find_elements(By.CSS_SELECTOR, "article[data-request]"):
        if article.find_element(By.TAG_NAME, "h3").text.startswith(recipient + " ") and category in article.text.lower():
            return article.get_attribute("data-request")
    fail(f"no request of {recipient} for {category} data in the page: {page.text('#main')}")


def grant(page, request_id, sensitive=False):
    page.view("requests")
    if sensitive:
        # Sensitive data needs the box ticked: without it nothing is asked or signed.
        page.click(f"article[data-request='{request_id}'] [data-action=grant]")
        page.wait.until(lambda d: "Tick the box" in d.find_element(By.ID, "alert").text)
        if page.driver.execute_script("return document.getElementById('confirm').open"):
            fail("the grant of sensitive data asked for confirmation before the box was ticked")
        page.click(f"#sensitive-{request_id}")
    page.click(f"article[data-request='{request_id}'] [data-action=grant]")
    page.confirm()
    page.status("Granted: consent ")
    if page.driver.execute_script("return location.hash") != "#consents":
        fail("after a grant the address does not name the consents view it shows")
    return page.text("#status").split("consent ")[1].rstrip(".")


def main():
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads, exist_ok=True)
    driver = browser(os.path.join(work, "profile-1"), downloads)
    driver.set_window_size(640, 900)
    try:
        page = Page(driver)
        page.open()
        if driver.execute_script("return window.mydataMissingTexts.length") != 0:
            fail(f"texts missing in a language: {driver.execute_script('return window.mydataMissingTexts')}")
        check_wire(page)

        # A key made in the page, which the page itself cannot read.
        page.click("#create-key")
        page.status("Your key was made in this browser")
        subject = page.text("#subject-id")
        extractable = driver.execute_async_script("""
            const done = arguments[0];
            import('/app/js/keys.js').then(k => k.load()).then(s => done([s.privateKey.extractable, s.privateKey.type])).catch(e => done(String(e)));
        """)
        if extractable != [False, "private"]:
            fail(f"the stored private key is not a non-extractable private key: {extractable}")
        page.click("#register")
        page.status("Registered with the broker")
        labelled(page)

        # The maker attests a car; the person confirms it in the page.
        party("hanbit-motors", ["devices", "attest", "--device", "car-b1", "--subject", subject])
        page.view("devices")
        page.click("[data-device='car-b1'] [data-action=confirm-device]")
        page.status("Confirmed")

        request = first_request(page, "safedrive-insurance")
        consent = grant(page, request)
        health = grant(page, first_request(page, "nutrilab", "health"), sensitive=True)
        page.view("consents")
        for granted in [consent, health]:
            state = page.text(f"[data-consent='{granted}'] .status")
            if state.lower() != "active":
                fail(f"the new consent {granted} shows '{state}', not active")
        labelled(page)
        # The skip link moves the focus to the content and leaves the view as it is.
        driver.execute_script("document.getElementById('skip').focus()")
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        if driver.switch_to.active_element.get_attribute("id") != "main" or driver.execute_script("return document.body.dataset.view") != "consents" \
                or driver.execute_script("return location.hash") != "#consents":
            fail("the skip link does not take the focus to the content of the same view, leaving the address as it is")

        # The maker pushes, the recipient pulls: the person sees it in the timeline.
        now = int(time.time() * 1000)
        records = os.path.join(work, "records.ndjson")
        with open(records, "w") as f:
            for n in range(5):
                f.write(json.dumps({"device": "car-b1", "item": "vehicle.driving", "time": now - (n + 1) * 1000,
                                    "values": {"average_speed": 40, "distance": n, "duration": 60}}) + "\n")
        party("hanbit-motors", ["push", records])
        pulled = os.path.join(work, "pulled.ndjson")
        party("safedrive-insurance", ["pull", consent, "--out", pulled])
        if sum(1 for _ in open(pulled)) != 5:
            fail("the recipient did not receive the five records")
        page.view("timeline")
        entry = page.text(f".event-delivery[data-consent='{consent}']")
        try:
            page.wait.until(lambda d: d.switch_to.active_element.get_attribute("id") == "view-title")
        except Exception:
            fail("a new view does not take the focus to its heading")
        for view in ["requests", "consents", "timeline", "rewards", "receipts", "devices", "key", "erase"]:
            page.view(view).fits(f"the {view} view")
        if "safedrive-insurance received 5 records" not in entry:
            fail(f"the timeline does not show the delivery: {entry}")

        # The receipt: downloaded, then checked in the page.
        page.view("consents")
        page.click(f"[data-consent='{consent}'] [data-action=receipt]")
        receipt = os.path.join(downloads, f"receipt-{consent}.json")
        WebDriverWait(driver, 30).until(lambda d: os.path.exists(receipt) and os.path.getsize(receipt) > 0)
        time.sleep(0.5)
        page.view("receipts")
        broker_key = json.load(open(os.path.join(data_dir, "keys", "broker.pub")))["signingKey"]
        if driver.find_element(By.ID, "broker-key").get_attribute("value") != broker_key:
            fail(f"the receipt check offers the key {driver.find_element(By.ID, 'broker-key').get_attribute('value')}, not the broker's {broker_key}")
        driver.find_element(By.ID, "receipt-file").send_keys(receipt)
        page.click("#verify-receipt button[type=submit]")
        page.status("The receipt is genuine")
        if driver.execute_script("return localStorage.getItem('mydata.brokerKey')") != broker_key:
            fail("the broker's key is not remembered after the first check")
        # Against another key (say, one a tampered page presents) the same receipt does not check.
        page.view("receipts")
        driver.find_element(By.ID, "broker-key").clear()
        driver.find_element(By.ID, "broker-key").send_keys(vectors["otherKey"])
        driver.find_element(By.ID, "receipt-file").send_keys(receipt)
        page.click("#verify-receipt button[type=submit]")
        page.wait.until(lambda d: "signed by another key" in d.find_element(By.ID, "alert").text)
        # A changed receipt does not check.
        changed = json.load(open(receipt))
        changed["receipt"]["retentionDays"] += 1
        forged = os.path.join(work, "forged.json")
        json.dump(changed, open(forged, "w"))
        page.view("receipts")
        driver.find_element(By.ID, "receipt-file").send_keys(forged)
        page.click("#verify-receipt button[type=submit]")
        page.wait.until(lambda d: "does not check" in d.find_element(By.ID, "alert").text)

        # The first delivery paid the reward: the person sees it and redeems part of it.
        page.view("rewards")
        balance = int(page.text("#reward-balance").split()[0])
        if balance < 1000:
            fail(f"the rewards account shows {balance} KRW after the first delivery")
        driver.find_element(By.ID, "redeem-amount").send_keys("1000")
        driver.find_element(By.ID, "redeem-manufacturer").send_keys("hanbit-motors")
        page.click("#redeem button[type=submit]")
        page.confirm()
        page.status("Redeemed")
        if int(page.text("#reward-balance").split()[0]) != balance - 1000:
            fail(f"after redeeming 1000 KRW the balance is {page.text('#reward-balance')}, not {balance - 1000}")
        # A problem from the API is shown as its title and detail.
        driver.find_element(By.ID, "redeem-amount").send_keys("1")
        driver.find_element(By.ID, "redeem-manufacturer").send_keys("hanbit-motors")
        page.click("#redeem button[type=submit]")
        page.confirm()
        page.wait.until(lambda d: "The broker refused" in d.find_element(By.ID, "alert").text)

        # Revoked in the page: the recipient's next pull is refused.
        page.view("consents")
        page.click(f"[data-consent='{consent}'] [data-action=revoke]")
        page.confirm()
        page.status("Revoked")
        refused = party("safedrive-insurance", ["pull", consent, "--out", pulled], check=False)
        if refused.returncode == 0 or "revoked" not in (refused.stderr + refused.stdout).lower():
            fail(f"the pull after the revocation was not refused as revoked: {refused.returncode} {refused.stderr}")
        # In Korean, then erased with a typed confirmation.
        driver.execute_script("const s = document.getElementById('language'); s.value = 'ko'; s.dispatchEvent(new Event('change'))")
        page.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "nav a[href='#consents']").text == "동의")
        if driver.execute_script("return document.documentElement.lang") != "ko":
            fail("the page's language is not set to ko")
        driver.execute_script("const s = document.getElementById('language'); s.value = 'en'; s.dispatchEvent(new Event('change'))")
        page.view("erase")
        driver.find_element(By.ID, "erase-typed").send_keys("erase")
        page.click("#erase button[type=submit]")
        page.wait.until(lambda d: "Type ERASE" in d.find_element(By.ID, "alert").text)
        driver.find_element(By.ID, "erase-typed").clear()
        driver.find_element(By.ID, "erase-typed").send_keys("ERASE")
        page.click("#erase button[type=submit]")
        page.confirm()
        page.status("Erased")
        page.check_clean("the person's session")
    finally:
        driver.quit()

    # A key made by the CLI, exported, imported into a fresh browser; it grants, the CLI revokes.
    config = os.path.join(work, "cli-person")
    secrets = {"MYDATA_PASSPHRASE": "correct horse battery staple", "MYDATA_EXPORT_PASSPHRASE": "export passphrase 1"}
    cli(["key", "init"], config, secrets)
    person = json.loads(cli(["key", "show", "--json"], config, secrets).stdout)["subject"]
    export = os.path.join(work, "mydata-key.json")
    cli(["key", "export", "--out", export], config, secrets)
    driver = browser(os.path.join(work, "profile-2"), downloads)
    try:
        page = Page(driver)
        page.open("key")
        driver.find_element(By.ID, "import-file").send_keys(export)
        driver.find_element(By.ID, "import-passphrase").send_keys("wrong passphrase")
        page.click("#import-key button[type=submit]")
        page.wait.until(lambda d: "passphrase does not open" in d.find_element(By.ID, "alert").text)
        driver.find_element(By.ID, "import-file").send_keys(export)
        driver.find_element(By.ID, "import-passphrase").clear()
        driver.find_element(By.ID, "import-passphrase").send_keys(secrets["MYDATA_EXPORT_PASSPHRASE"])
        page.click("#import-key button[type=submit]")
        page.status("The key was imported")
        if page.text("#subject-id") != person:
            fail(f"the imported key's id {page.text('#subject-id')} is not the CLI's {person}")
        consent = grant(page, first_request(page, "safedrive-insurance"))
        cli(["revoke", consent], config, secrets)
        page.view("consents")
        state = page.text(f"[data-consent='{consent}'] .status")
        if state.lower() != "revoked":
            fail(f"after the CLI revoked it the page shows '{state}'")
        page.check_clean("the imported key's session")
    finally:
        driver.quit()
    print("dashboard: ok")


main()
