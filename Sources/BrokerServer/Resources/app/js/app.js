// The person's dashboard: every view reads the broker's signed API with the key kept in this
// browser, and every change is an event the person signs here, exactly as the CLI makes it.
import { render as renderContract } from "./contract.js";
import { currentLanguage, missingTexts, setLanguage, t } from "./i18n.js";
import * as keys from "./keys.js";
import { verifyReceipt } from "./receipt.js";
import { Broker, Problem, base64, consentID, signedEvent } from "./wire.js";

const DAY = 86_400_000;
let signer = null, broker = null, policyCache = null;

// ---- The page's furniture -----------------------------------------------------------------

/** An element with attributes (`on…` are listeners) and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const main = () => document.getElementById("main");

function say(text, kind = "status") {
  const box = document.getElementById(kind === "error" ? "alert" : "status");
  box.replaceChildren(el("p", { text }));
}

function clearMessages() {
  document.getElementById("alert").replaceChildren();
  document.getElementById("status").replaceChildren();
}

/** Shows a failure: the API's problem as its title and detail, anything else as its message. */
function fail(error) {
  if (error instanceof Problem) {
    say(`${t("problem", { title: error.title })}${error.detail ? " — " + error.detail : ""}${error.code ? ` (${error.code})` : ""}`, "error");
  } else {
    const key = "error." + error.message;
    say(t(key) === key ? String(error.message || error) : t(key), "error");
  }
}

/** Asks before anything that cannot be taken back; resolves true only on OK. */
function ask(text) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector("p").textContent = text;
  return new Promise((resolve) => {
    const done = (answer) => { dialog.close(); resolve(answer); };
    dialog.querySelector("[data-answer=ok]").onclick = () => done(true);
    dialog.querySelector("[data-answer=cancel]").onclick = () => done(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
    dialog.querySelector("[data-answer=cancel]").focus();
  });
}

function when(ms) { return el("time", { datetime: new Date(ms).toISOString(), text: new Date(ms).toLocaleString(currentLanguage()) }); }

function section(titleKey, ...children) {
  return el("section", { "aria-labelledby": "view-title" }, el("h2", { id: "view-title", tabindex: "-1", text: t(titleKey) }), ...children);
}

async function policy() {
  if (!policyCache) policyCache = await broker.public("/v1/policy");
  return policyCache;
}

function itemTitle(p, id) {
  for (const c of p.categories) for (const i of c.items) if (i.id === id) return `${i.title} (${id})`;
  return id;
}

function categoryTitle(p, id) { return p.categories.find((c) => c.id === id)?.title ?? id; }

// ---- Views ---------------------------------------------------------------------------------

const views = {
  async key() {
    if (!signer) {
      const created = el("button", { type: "button", id: "create-key", text: t("key.create"), onclick: createKey });
      return section("nav.key", el("p", { text: t("key.none") }), created, importForm());
    }
    const me = await broker.get("/v1/me");
    const rows = el("dl", {},
      el("dt", { text: t("key.id") }), el("dd", {}, el("code", { id: "subject-id", text: signer.id })),
      el("dt", { text: t("key.public") }), el("dd", {}, el("code", { text: base64(signer.publicKey) })),
      el("dt", { text: t("key.origin") }), el("dd", { text: t(signer.origin === "cli" ? "key.origin.cli" : "key.origin.browser") }));
    const registered = me.registered
      ? el("p", { id: "registered", text: t("key.registered") })
      : el("p", {}, t("key.notRegistered"), " ", el("button", { type: "button", id: "register", text: t("key.register"), onclick: register }));
    const forget = el("button", { type: "button", class: "danger", text: t("key.forget"), onclick: forgetKey });
    return section("nav.key", rows, registered, forget);
  },

  async requests() {
    const p = (await policy()).policy;
    const list = await broker.get("/v1/consent-requests?limit=100");
    const declined = new Set(JSON.parse(localStorage.getItem(`mydata.declined.${signer.id}`) || "[]"));
    const open = list.requests.filter((r) => r.status === "open" && !declined.has(r.request.id));
    if (open.length === 0) return section("nav.requests", el("p", { text: t("requests.none") }));
    return section("nav.requests", el("ul", { class: "cards" }, open.map((item) => el("li", {}, requestCard(item.request, p)))));
  },

  async consents() {
    const list = await broker.get("/v1/consents?limit=500");
    if (list.consents.length === 0) return section("nav.consents", el("p", { text: t("consents.none") }));
    const active = list.consents.filter((c) => c.status === "active");
    const all = active.length > 1
      ? el("button", { type: "button", class: "danger", id: "revoke-all", text: t("consents.revokeAll"), onclick: () => revokeAll(active.map((c) => c.consent)) })
      : null;
    const p = (await policy()).policy;
    const rows = list.consents.map(({ consent, status }) => el("li", { "data-consent": consent.id },
      el("h3", {}, `${consent.recipient} — ${categoryTitle(p, consent.terms.category)}`),
      el("p", {}, el("strong", { class: `status status-${status}`, text: t(`consents.${status}`) }), " ", el("code", { text: consent.id })),
      el("p", {}, consent.terms.items.map((i) => itemTitle(p, i)).join(", ")),
      el("p", {}, when(consent.grantedAt), " → ", when(consent.revokedAt ?? consent.expiresAt)),
      el("div", { class: "actions" },
        status === "active" ? el("button", { type: "button", class: "danger", "data-action": "revoke", text: t("consents.revoke"), onclick: () => revoke(consent) }) : null,
        el("button", { type: "button", "data-action": "receipt", text: t("consents.receipt"), onclick: () => downloadReceipt(consent.id) }))));
    return section("nav.consents", all, el("ul", { class: "cards" }, rows));
  },

  async timeline() {
    const p = (await policy()).policy;
    const [deliveries, analyses] = await Promise.all([broker.get("/v1/access-log?limit=200"), broker.get("/v1/access-log/analyses?limit=200")]);
    const events = [
      ...deliveries.entries.map((e) => ({ time: e.time, kind: "delivery", text: t("timeline.delivery", { recipient: e.recipient, records: e.records, items: e.items.map((i) => itemTitle(p, i)).join(", ") }), id: e.consentID })),
      ...analyses.analyses.map((a) => ({ time: a.time, kind: "analysis", text: t("timeline.analysis", { recipient: a.recipient, purpose: p.purposes.find((x) => x.id === a.purpose)?.title ?? a.purpose }), id: a.consentID })),
    ].sort((a, b) => b.time - a.time);
    if (events.length === 0) return section("nav.timeline", el("p", { text: t("timeline.none") }));
    return section("nav.timeline", el("ol", { class: "timeline" }, events.map((e) =>
      el("li", { class: `event-${e.kind}`, "data-consent": e.id }, when(e.time), " ", el("span", { text: e.text })))));
  },

  async rewards() {
    const { accounts } = await broker.get("/v1/accounts");
    const rewards = accounts.filter((a) => a.kind === "rewards");
    if (rewards.length === 0) return section("nav.rewards", el("p", { text: t("rewards.none") }));
    const parts = [];
    for (const account of rewards) {
      const { transfers } = await broker.get(`/v1/accounts/${encodeURIComponent(account.id)}/transfers?after=0&limit=100`);
      parts.push(el("dl", {},
        el("dt", { text: t("rewards.balance") }), el("dd", { id: "reward-balance", text: `${account.balance} KRW` }),
        el("dt", { text: t("rewards.available") }), el("dd", { text: `${account.available} KRW` }),
        el("dt", { text: t("rewards.pending") }), el("dd", { text: `${account.pendingIn} KRW` })));
      parts.push(el("h3", { text: t("rewards.statement") }), el("table", {},
        el("tbody", {}, transfers.map((x) => el("tr", {}, el("td", {}, when(x.time)), el("td", { text: x.code }),
          el("td", { text: `${x.direction === "in" ? "+" : "−"}${x.amount} KRW` }), el("td", { text: x.phase }))))));
    }
    parts.push(redeemForm());
    return section("nav.rewards", ...parts);
  },

  async receipts() {
    const list = await broker.get("/v1/consents?limit=500");
    const downloads = el("ul", {}, list.consents.map(({ consent }) => el("li", {},
      el("button", { type: "button", text: t("receipts.download", { id: consent.id }), onclick: () => downloadReceipt(consent.id) }))));
    const file = el("input", { type: "file", id: "receipt-file", accept: "application/json,.json" });
    const check = el("form", { id: "verify-receipt", onsubmit: async (event) => {
      event.preventDefault();
      clearMessages();
      try {
        const text = await file.files[0].text();
        const vkey = await broker.public("/v1/log/vkey");
        // name+hex8+base64(0x01 ‖ key): the base64 may itself hold '+'.
        const encoded = vkey.trim().split("+").slice(2).join("+");
        const brokerKey = base64(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)).subarray(1));
        await verifyReceipt(text, brokerKey);
        say(t("receipts.ok") + " " + t("receipts.logNote"));
      } catch (error) {
        say(t("receipts.bad", { reason: error.message }), "error");
      }
    } }, el("label", { for: "receipt-file", text: t("receipts.file") }), file, el("button", { type: "submit", text: t("receipts.check") }));
    return section("nav.receipts", downloads, el("h3", { text: t("receipts.verify") }), check);
  },

  async devices() {
    const { devices } = await broker.get("/v1/devices");
    if (devices.length === 0) return section("nav.devices", el("p", { text: t("devices.none") }));
    return section("nav.devices", el("ul", { class: "cards" }, devices.map((d) => el("li", { "data-device": d.deviceID },
      el("h3", { text: `${d.manufacturer} — ${d.deviceID}` }),
      d.confirmedAt ? el("p", {}, el("strong", { text: t("devices.confirmed") }), " ", when(d.confirmedAt))
        : el("p", {}, el("span", { text: t("devices.awaiting") }), " ",
          el("button", { type: "button", "data-action": "confirm-device", text: t("devices.confirm"), onclick: () => confirmDevice(d) }))))));
  },

  async erase() {
    const typed = el("input", { id: "erase-typed", autocomplete: "off", "aria-describedby": "erase-text" });
    const form = el("form", { id: "erase", onsubmit: async (event) => {
      event.preventDefault();
      clearMessages();
      if (typed.value !== "ERASE") { say(t("erase.typed"), "error"); typed.focus(); return; }
      if (!(await ask(t("erase.text")))) return;
      await act(async () => {
        const list = await broker.get("/v1/consents?limit=500");
        const now = broker.now();
        const events = [];
        for (const { consent, status } of list.consents) {
          if (status === "active") events.push(await signedEvent(signer, "consent.revoked", { consentID: consent.id, subject: signer.id }, now));
        }
        events.push(await signedEvent(signer, "subject.erased", { subjectID: signer.id }, now));
        await broker.post("/v1/erasure", { events });
        say(t("erase.done"));
      });
    } }, el("p", { id: "erase-text", text: t("erase.text") }), el("label", { for: "erase-typed", text: t("erase.type") }), typed,
    el("button", { type: "submit", class: "danger", text: t("erase.go") }));
    return section("nav.erase", form);
  },
};

// ---- Requests and grants -------------------------------------------------------------------

function requestCard(r, p) {
  const terms = r.terms;
  const analysis = terms.access === "analysis";
  const category = p.categories.find((c) => c.id === terms.category);
  const sensitive = category?.sensitive === true;
  const until = terms.onceOff ? t("requests.once") : t("requests.days", { days: terms.durationDays });
  const rows = [
    [t("requests.items"), terms.items.map((i) => itemTitle(p, i)).join(", ")],
    [t("requests.purpose"), p.purposes.find((x) => x.id === terms.purpose)?.title ?? terms.purpose],
    [t("requests.window"), `${new Date(terms.dataFrom).toLocaleDateString(currentLanguage())} – ${new Date(terms.dataTo).toLocaleDateString(currentLanguage())}`],
    [t("requests.access"), until],
  ];
  if (!analysis) rows.push([t("requests.retention"), t("requests.retentionDays", { days: terms.retentionDays })]);
  rows.push([t("requests.incentive"), `${terms.incentiveKRW} KRW`]);
  const reward = rewardOf(terms, p);
  if (reward > 0) rows.push([t("requests.reward"), `${reward} KRW`]);
  if (terms.minQuality) rows.push([t("requests.quality"), t("requests.qualityText", { grade: terms.minQuality })]);
  const card = [
    el("h3", {}, `${r.recipient} ${t("requests.asks")} ${analysis ? t("requests.toAnalyse") : t("requests.for")} ${t("requests.yourData", { category: category?.title ?? terms.category })}`),
    el("dl", {}, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
  ];
  let contract = null;
  if (terms.contract) {
    contract = renderContract(terms, r.recipient, p);
    if (contract) {
      card.push(el("h4", { text: `${t("requests.contract")}: ${contract.template.title}` }),
        el("p", { text: t("requests.keyClauses") }),
        el("ul", { class: "clauses" }, contract.clauses.filter((c) => c.key).map((c) => el("li", {}, el("strong", { text: c.title + ": " }), c.text))),
        el("details", {}, el("summary", { text: terms.contract.hash }), el("pre", { text: contract.text })));
    }
  }
  if (analysis) card.push(el("p", { class: "notice", text: t("requests.analysisOnly", { recipient: r.recipient }) }));
  let confirm = null;
  if (sensitive) {
    const box = el("input", { type: "checkbox", id: `sensitive-${r.id}` });
    confirm = box;
    card.push(el("p", { class: "notice", text: t("requests.sensitive") }), el("p", {}, box, " ", el("label", { for: box.id, text: t("requests.confirmSensitive") })));
  }
  card.push(el("div", { class: "actions" },
    el("button", { type: "button", "data-action": "grant", text: t("requests.grant"), onclick: () => grant(r, contract, confirm) }),
    el("button", { type: "button", "data-action": "decline", text: t("requests.decline"), onclick: () => decline(r) })));
  return el("article", { "data-request": r.id }, ...card);
}

function rewardOf(terms, p) {
  const rule = (p.accounting?.rewards || []).find((x) => x.category === terms.category);
  if (!rule) return 0;
  return terms.onceOff ? rule.onceOffKRW : rule.perMonthKRW * Math.ceil(terms.durationDays / 30);
}

async function grant(r, contract, sensitiveBox) {
  clearMessages();
  if (r.terms.contract && (!contract || !contract.matches)) { say(t("requests.contractMismatch"), "error"); return; }
  if (sensitiveBox && !sensitiveBox.checked) { say(t("requests.sensitiveNeeded"), "error"); sensitiveBox.focus(); return; }
  if (!(await ask(t("requests.grantConfirm")))) return;
  await act(async () => {
    policyCache = null;
    const active = await policy();
    const now = broker.now();
    const id = consentID(r.id, signer.id);
    const payload = {
      consentID: id, expiresAt: now + (r.terms.onceOff ? DAY : r.terms.durationDays * DAY), grantedAt: now,
      policyHash: active.hash, policyVersion: active.version, recipient: r.recipient, requestHash: r.requestHash,
      requestID: r.id, sensitiveConfirmed: Boolean(sensitiveBox && sensitiveBox.checked), subject: signer.id, terms: r.terms,
    };
    await broker.submit("/v1/consents", [await signedEvent(signer, "consent.granted", payload, now)]);
    await show("consents");
    say(t("requests.granted", { id }));
  });
}

function decline(r) {
  const key = `mydata.declined.${signer.id}`;
  const declined = JSON.parse(localStorage.getItem(key) || "[]");
  localStorage.setItem(key, JSON.stringify([...declined, r.id]));
  document.querySelector(`[data-request="${r.id}"]`)?.closest("li")?.remove();
  say(t("requests.declined"));
}

// ---- Consents, receipts, rewards, devices ------------------------------------------------

async function revoke(consent) {
  clearMessages();
  if (!(await ask(t("consents.revokeConfirm", { id: consent.id, recipient: consent.recipient })))) return;
  await act(async () => {
    const event = await signedEvent(signer, "consent.revoked", { consentID: consent.id, subject: signer.id }, broker.now());
    await broker.post(`/v1/consents/${consent.id}/revoke`, { events: [event] });
    await show("consents");
    say(t("consents.revokedNow", { id: consent.id }));
  });
}

async function revokeAll(consents) {
  clearMessages();
  if (!(await ask(t("consents.revokeAllConfirm", { count: consents.length })))) return;
  await act(async () => {
    for (const consent of consents) {
      const event = await signedEvent(signer, "consent.revoked", { consentID: consent.id, subject: signer.id }, broker.now());
      await broker.post(`/v1/consents/${consent.id}/revoke`, { events: [event] });
    }
    await show("consents");
    say(t("consents.revokedNow", { id: consents.map((c) => c.id).join(", ") }));
  });
}

async function downloadReceipt(id) {
  clearMessages();
  await act(async () => {
    const receipt = await broker.get(`/v1/consents/${id}/receipt`);
    const url = URL.createObjectURL(new Blob([JSON.stringify(receipt, null, 2) + "\n"], { type: "application/json" }));
    const link = el("a", { href: url, download: `receipt-${id}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
}

function redeemForm() {
  const amount = el("input", { id: "redeem-amount", type: "number", min: "1", step: "1", required: true, inputmode: "numeric" });
  const manufacturer = el("input", { id: "redeem-manufacturer", required: true, autocomplete: "off" });
  const kind = el("select", { id: "redeem-kind" },
    el("option", { value: "purchase-subsidy", text: t("rewards.kind.purchase-subsidy") }), el("option", { value: "consumables", text: t("rewards.kind.consumables") }));
  return el("form", { id: "redeem", onsubmit: async (event) => {
    event.preventDefault();
    clearMessages();
    if (!(await ask(t("rewards.redeemConfirm", { amount: amount.value, manufacturer: manufacturer.value })))) return;
    await act(async () => {
      const id = "rdm_" + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      const result = await broker.post("/v1/rewards/redemptions", { id, amountKRW: Number(amount.value), manufacturer: manufacturer.value, kind: kind.value });
      await show("rewards");
      say(t("rewards.redeemed", { available: result.availableKRW }));
    });
  } }, el("h3", { text: t("rewards.redeem") }),
  el("label", { for: amount.id, text: t("rewards.amount") }), amount,
  el("label", { for: manufacturer.id, text: t("rewards.manufacturer") }), manufacturer,
  el("label", { for: kind.id, text: t("rewards.kind") }), kind,
  el("button", { type: "submit", text: t("rewards.redeem") }));
}

async function confirmDevice(d) {
  clearMessages();
  await act(async () => {
    const event = await signedEvent(signer, "device.confirmed", { deviceID: d.deviceID, manufacturer: d.manufacturer, subject: signer.id }, broker.now());
    await broker.submit("/v1/devices", [event]);
    await show("devices");
    say(t("devices.confirmed"));
  });
}

// ---- The key -------------------------------------------------------------------------------

function importForm() {
  const file = el("input", { type: "file", id: "import-file", accept: "application/json,.json", required: true });
  const passphrase = el("input", { type: "password", id: "import-passphrase", autocomplete: "off", required: true });
  return el("form", { id: "import-key", onsubmit: async (event) => {
    event.preventDefault();
    clearMessages();
    await act(async () => {
      const text = await file.files[0].text();
      signer = await keys.importExport(text, passphrase.value);
      passphrase.value = "";
      broker = new Broker(signer);
      await show("key");
      say(t("key.imported"));
    });
  } }, el("h3", { text: t("key.import") }), el("p", { text: t("key.import.help") }),
  el("label", { for: file.id, text: t("key.import.file") }), file,
  el("label", { for: passphrase.id, text: t("key.import.passphrase") }), passphrase,
  el("button", { type: "submit", text: t("key.import.go") }));
}

async function createKey() {
  clearMessages();
  await act(async () => {
    signer = await keys.create();
    broker = new Broker(signer);
    await show("key");
    say(t("key.created"));
  });
}

async function register() {
  clearMessages();
  await act(async () => {
    const event = await signedEvent(signer, "subject.registered", { signingKey: base64(signer.publicKey), subjectID: signer.id }, broker.now());
    await broker.post("/v1/subjects", { events: [event] });
    await show("key");
    say(t("key.registered"));
  });
}

async function forgetKey() {
  if (!(await ask(t("key.forget.confirm")))) return;
  await keys.forget();
  signer = null; broker = null;
  await show("key");
}

// ---- Navigation ----------------------------------------------------------------------------

async function act(work) {
  const busy = document.getElementById("main");
  busy.setAttribute("aria-busy", "true");
  try { await work(); } catch (error) { fail(error); } finally { busy.removeAttribute("aria-busy"); }
}

let shown = 0;    // which call of show() is the latest: only its view is put on the page

async function show(name) {
  if (!views[name] || (!signer && name !== "key")) name = "key";
  const mine = ++shown;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === "#" + name) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  main().replaceChildren(el("p", { text: t("loading") }));
  let view = null, failure = null;
  try { view = await views[name](); } catch (error) { failure = error; }
  if (mine !== shown) return;    // another view was asked for meanwhile
  if (failure) { main().replaceChildren(); fail(failure); } else { main().replaceChildren(view); }
  document.body.dataset.view = name;
}

function labels() {
  document.title = t("title");
  document.querySelector("h1").textContent = t("title");
  document.querySelector("#skip").textContent = t("skip");
  document.querySelector("nav").setAttribute("aria-label", t("nav"));
  document.querySelector("label[for=language]").textContent = t("language");
  for (const link of document.querySelectorAll("nav a")) link.textContent = t("nav." + link.getAttribute("href").slice(1));
  const dialog = document.getElementById("confirm");
  dialog.querySelector("[data-answer=ok]").textContent = t("ok");
  dialog.querySelector("[data-answer=cancel]").textContent = t("cancel");
}

async function start() {
  // A CSP violation would be a bug of this page: the browser test reads what is recorded here.
  window.mydataCSPViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.mydataCSPViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  window.mydataMissingTexts = missingTexts();
  setLanguage(currentLanguage());
  const language = document.getElementById("language");
  language.value = currentLanguage();
  language.addEventListener("change", () => { setLanguage(language.value); labels(); show(location.hash.slice(1) || "requests"); });
  labels();
  if (!window.crypto?.subtle) { say(t("error.noWebCrypto"), "error"); return; }
  signer = await keys.load();
  if (signer) broker = new Broker(signer);
  // A new view takes the focus to its heading, so keyboard and screen-reader users start there.
  window.addEventListener("hashchange", async () => {
    clearMessages();
    await show(location.hash.slice(1));
    document.getElementById("view-title")?.focus();
  });
  await show(location.hash.slice(1) || (signer ? "requests" : "key"));
  document.body.dataset.ready = "true";
}

start();
