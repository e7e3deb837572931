// The person's dashboard: every view reads the broker's signed API with the key kept in this
// browser, and every change is an event the person signs here, exactly as the CLI makes it.
import { render as renderContract } from "./contract.js";
import { currentLanguage, missingTexts, setLanguage, t } from "./i18n.js";
import * as keys from "./keys.js";
import { brokerKeyOfVerifierKey, verifyReceipt } from "./receipt.js";
import { Broker, Problem, base64, consentID, signedEvent, unbase64 } from "./wire.js";

const DAY = 86_400_000;
const PINNED_BROKER_KEY = "mydata.brokerKey";
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

/** Says so when a listing was cut at a bound (`Broker.list`, the statement): only the newest `count` are shown. */
function cutNotice(truncated, count, key = "list.truncated") { return truncated ? el("p", { class: "notice", text: t(key, { count }) }) : null; }

/**
 * A reward account's newest 500 statement lines, newest first: the broker pages a statement
 * oldest first, by offset, so every page is read and only the last 500 lines kept.
 */
async function statement(account) {
  let lines = [], total = 0;
  for (;;) {
    const { transfers } = await broker.get(`/v1/accounts/${encodeURIComponent(account)}/transfers?after=${total}&limit=500`);
    total += transfers.length;
    lines = lines.concat(transfers).slice(-500);
    if (transfers.length < 500) return { lines: lines.reverse(), truncated: total > lines.length };
  }
}

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
    const active = await policy();
    const list = await broker.list("/v1/consent-requests", "requests", 500);
    const declined = new Set(JSON.parse(localStorage.getItem(`mydata.declined.${signer.id}`) || "[]"));
    const open = list.entries.filter((r) => r.status === "open" && !declined.has(r.request.id));
    const cut = cutNotice(list.truncated, list.entries.length, "requests.truncated");
    if (open.length === 0) return section("nav.requests", cut, el("p", { text: t("requests.none") }));
    return section("nav.requests", cut, el("ul", { class: "cards" }, open.map((item) => el("li", {}, requestCard(item.request, active)))));
  },

  async consents() {
    const list = await broker.list("/v1/consents", "consents");
    if (list.entries.length === 0) return section("nav.consents", el("p", { text: t("consents.none") }));
    const active = list.entries.filter((c) => c.status === "active");
    const all = active.length > 1
      ? el("button", { type: "button", class: "danger", id: "revoke-all", text: t("consents.revokeAll"), onclick: () => revokeAll(active.map((c) => c.consent)) })
      : null;
    const p = (await policy()).policy;
    const rows = list.entries.map(({ consent, status }) => el("li", { "data-consent": consent.id },
      el("h3", {}, `${consent.recipient} — ${categoryTitle(p, consent.terms.category)}`),
      el("p", {}, el("strong", { class: `status status-${status}`, text: t(`consents.${status}`) }), " ", el("code", { text: consent.id })),
      el("p", {}, consent.terms.items.map((i) => itemTitle(p, i)).join(", ")),
      el("p", {}, when(consent.grantedAt), " → ", when(consent.revokedAt ?? consent.expiresAt)),
      el("div", { class: "actions" },
        status === "active" ? el("button", { type: "button", class: "danger", "data-action": "revoke", text: t("consents.revoke"), onclick: () => revoke(consent) }) : null,
        el("button", { type: "button", "data-action": "receipt", text: t("consents.receipt"), onclick: () => downloadReceipt(consent.id) }))));
    return section("nav.consents", all, cutNotice(list.truncated, list.entries.length), el("ul", { class: "cards" }, rows));
  },

  async timeline() {
    const p = (await policy()).policy;
    const [deliveries, analyses] = await Promise.all([broker.list("/v1/access-log", "entries", 1000), broker.get("/v1/access-log/analyses?limit=500")]);
    const events = [
      ...deliveries.entries.map((e) => ({ time: e.time, kind: "delivery", text: t("timeline.delivery", { recipient: e.recipient, records: e.records, items: e.items.map((i) => itemTitle(p, i)).join(", ") }), id: e.consentID })),
      ...analyses.analyses.map((a) => ({ time: a.time, kind: "analysis", text: t("timeline.analysis", { recipient: a.recipient, purpose: p.purposes.find((x) => x.id === a.purpose)?.title ?? a.purpose }), id: a.consentID })),
    ].sort((a, b) => b.time - a.time);
    if (events.length === 0) return section("nav.timeline", el("p", { text: t("timeline.none") }));
    return section("nav.timeline", cutNotice(deliveries.truncated, deliveries.entries.length),
      cutNotice(analyses.analyses.length >= 500, 500), el("ol", { class: "timeline" }, events.map((e) =>
      el("li", { class: `event-${e.kind}`, "data-consent": e.id }, when(e.time), " ", el("span", { text: e.text })))));
  },

  async rewards() {
    const { accounts } = await broker.get("/v1/accounts");
    const rewards = accounts.filter((a) => a.kind === "rewards");
    if (rewards.length === 0) return section("nav.rewards", el("p", { text: t("rewards.none") }));
    const parts = [];
    for (const account of rewards) {
      const { lines, truncated } = await statement(account.id);
      parts.push(el("dl", {},
        el("dt", { text: t("rewards.balance") }), el("dd", { id: "reward-balance", text: `${account.balance} KRW` }),
        el("dt", { text: t("rewards.available") }), el("dd", { text: `${account.available} KRW` }),
        el("dt", { text: t("rewards.pending") }), el("dd", { text: `${account.pendingIn} KRW` })));
      const head = ["rewards.when", "rewards.what", "rewards.amountColumn", "rewards.phase"].map((k) => el("th", { scope: "col", text: t(k) }));
      parts.push(el("h3", { id: "statement-title", text: t("rewards.statement") }),
        cutNotice(truncated, lines.length, "rewards.newest"),
        el("table", { "aria-labelledby": "statement-title" }, el("thead", {}, el("tr", {}, head)),
          el("tbody", {}, lines.map((x) => el("tr", {}, el("td", {}, when(x.time)), el("td", { text: x.code }),
            el("td", { text: `${x.direction === "in" ? "+" : "−"}${x.amount} KRW` }), el("td", { text: t(`rewards.phase.${x.phase}`) }))))));
    }
    parts.push(redeemForm());
    return section("nav.rewards", ...parts);
  },

  async receipts() {
    const list = await broker.list("/v1/consents", "consents");
    const downloads = el("ul", {}, list.entries.map(({ consent }) => el("li", {},
      el("button", { type: "button", text: t("receipts.download", { id: consent.id }), onclick: () => downloadReceipt(consent.id) }))));
    // The broker's key the receipts are checked against: the one this browser remembered at its
    // first check, else the one the broker presents now; the person can compare it with the key
    // the operator publishes, or paste that one.
    let presented = "";
    try { presented = brokerKeyOfVerifierKey(await broker.public("/v1/log/vkey")); } catch (error) { fail(error); }
    const pinned = localStorage.getItem(PINNED_BROKER_KEY);
    const changed = Boolean(pinned && presented && pinned !== presented);
    const key = el("input", { id: "broker-key", required: true, autocomplete: "off", spellcheck: "false", value: pinned || presented,
      "aria-describedby": changed ? "broker-key-help broker-key-changed" : "broker-key-help" });
    const notes = [el("p", { id: "broker-key-help", text: t(pinned ? "receipts.keyPinned" : "receipts.keyFirst") })];
    if (changed) notes.push(el("p", { class: "notice", id: "broker-key-changed", text: t("receipts.keyChanged", { key: presented }) }));
    const file = el("input", { type: "file", id: "receipt-file", accept: "application/json,.json", required: true });
    const check = el("form", { id: "verify-receipt", onsubmit: async (event) => {
      event.preventDefault();
      clearMessages();
      try {
        // The key itself, or the whole broker.pub file pasted (its signingKey).
        let brokerKey = key.value.trim();
        if (brokerKey.startsWith("{")) { try { brokerKey = String(JSON.parse(brokerKey).signingKey); } catch { /* checked below */ } }
        let raw;
        try { raw = unbase64(brokerKey); } catch { raw = null; }
        if (!raw || raw.length !== 32) throw new Error(t("receipts.keyMalformed"));
        brokerKey = base64(raw);    // as the receipt writes it, however it was pasted
        await verifyReceipt(await file.files[0].text(), brokerKey);
        localStorage.setItem(PINNED_BROKER_KEY, brokerKey);
        say(t("receipts.ok") + " " + t("receipts.logNote"));
      } catch (error) {
        say(t("receipts.bad", { reason: error.message }), "error");
      }
    } }, el("label", { for: "broker-key", text: t("receipts.brokerKey") }), key, ...notes,
    el("label", { for: "receipt-file", text: t("receipts.file") }), file, el("button", { type: "submit", text: t("receipts.check") }));
    return section("nav.receipts", cutNotice(list.truncated, list.entries.length), downloads, el("h3", { text: t("receipts.verify") }), check);
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
        const list = await broker.list("/v1/consents", "consents");
        const now = broker.now();
        const events = [];
        for (const { consent, status } of list.entries) {
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

/** A request's card; one the page cannot show (say, a date beyond what it can write) says why. */
function requestCard(r, active) {
  try {
    return requestDetails(r, active);
  } catch (error) {
    return el("article", { "data-request": r.id }, el("h3", { text: `${r.recipient} — ${r.id}` }),
      el("p", { class: "notice", text: t("requests.unreadable", { reason: error.message }) }),
      el("div", { class: "actions" }, el("button", { type: "button", "data-action": "decline", text: t("requests.decline"), onclick: () => decline(r) })));
  }
}

function requestDetails(r, active) {
  const p = active.policy;
  const terms = r.terms;
  const analysis = terms.access === "analysis";
  const category = p.categories.find((c) => c.id === terms.category);
  const sensitive = category?.sensitive === true;
  const end = broker.now() + (terms.onceOff ? DAY : terms.durationDays * DAY);
  const until = `${terms.onceOff ? t("requests.once") : t("requests.days", { days: terms.durationDays })}, ${t("requests.until", { until: new Date(end).toLocaleDateString(currentLanguage()) })}`;
  const rows = [
    [t("requests.items"), terms.items.map((i) => itemTitle(p, i)).join(", ")],
    [t("requests.purpose"), p.purposes.find((x) => x.id === terms.purpose)?.title ?? terms.purpose],
    [t("requests.window"), `${new Date(terms.dataFrom).toLocaleDateString(currentLanguage())} – ${new Date(terms.dataTo).toLocaleDateString(currentLanguage())}`],
    [t("requests.access"), until],
    [t("requests.policy"), t("requests.policyText", { version: active.version, hash: active.hash.slice(0, 16) })],
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
    el("button", { type: "button", "data-action": "grant", text: t("requests.grant"), onclick: () => grant(r, active, contract, confirm) }),
    el("button", { type: "button", "data-action": "decline", text: t("requests.decline"), onclick: () => decline(r) })));
  return el("article", { "data-request": r.id }, ...card);
}

function rewardOf(terms, p) {
  const rule = (p.accounting?.rewards || []).find((x) => x.category === terms.category);
  if (!rule) return 0;
  return terms.onceOff ? rule.onceOffKRW : rule.perMonthKRW * Math.ceil(terms.durationDays / 30);
}

/**
 * Grants a request under the policy its card was shown with: if the broker has activated another
 * policy since, the card is shown again under it and nothing is signed.
 */
async function grant(r, shown, contract, sensitiveBox) {
  clearMessages();
  if (r.terms.contract && (!contract || !contract.matches)) { say(t("requests.contractMismatch"), "error"); return; }
  if (sensitiveBox && !sensitiveBox.checked) { say(t("requests.sensitiveNeeded"), "error"); sensitiveBox.focus(); return; }
  if (!(await ask(t("requests.grantConfirm")))) return;
  await act(async () => {
    policyCache = null;
    const active = await policy();
    if (active.hash !== shown.hash) {
      await go("requests");
      say(t("requests.policyChanged"), "error");
      return;
    }
    const now = broker.now();
    const id = consentID(r.id, signer.id);
    const payload = {
      consentID: id, expiresAt: now + (r.terms.onceOff ? DAY : r.terms.durationDays * DAY), grantedAt: now,
      policyHash: active.hash, policyVersion: active.version, recipient: r.recipient, requestHash: r.requestHash,
      requestID: r.id, sensitiveConfirmed: Boolean(sensitiveBox && sensitiveBox.checked), subject: signer.id, terms: r.terms,
    };
    await broker.submit("/v1/consents", [await signedEvent(signer, "consent.granted", payload, now)]);
    await go("consents");
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
    await go("consents");
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
    await go("consents");
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
  // One id for this form: a second press after a lost answer is the same redemption, which
  // the broker does once.
  const id = "rdm_" + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const submit = el("button", { type: "submit", text: t("rewards.redeem") });
  return el("form", { id: "redeem", onsubmit: async (event) => {
    event.preventDefault();
    clearMessages();
    if (submit.disabled) return;
    if (!(await ask(t("rewards.redeemConfirm", { amount: amount.value, manufacturer: manufacturer.value })))) return;
    submit.disabled = true;
    await act(async () => {
      const result = await broker.post("/v1/rewards/redemptions", { id, amountKRW: Number(amount.value), manufacturer: manufacturer.value, kind: kind.value });
      await go("rewards");
      say(t("rewards.redeemed", { available: result.availableKRW }));
    });
    submit.disabled = false;
  } }, el("h3", { text: t("rewards.redeem") }),
  el("label", { for: amount.id, text: t("rewards.amount") }), amount,
  el("label", { for: manufacturer.id, text: t("rewards.manufacturer") }), manufacturer,
  el("label", { for: kind.id, text: t("rewards.kind") }), kind, submit);
}

async function confirmDevice(d) {
  clearMessages();
  await act(async () => {
    const event = await signedEvent(signer, "device.confirmed", { deviceID: d.deviceID, manufacturer: d.manufacturer, subject: signer.id }, broker.now());
    await broker.submit("/v1/devices", [event]);
    await go("devices");
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
    const secret = passphrase.value;
    passphrase.value = "";
    await act(async () => {
      signer = await keys.importExport(await file.files[0].text(), secret);
      broker = new Broker(signer);
      await go("key");
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
    await go("key");
    say(t("key.created"));
  });
}

async function register() {
  clearMessages();
  await act(async () => {
    const event = await signedEvent(signer, "subject.registered", { signingKey: base64(signer.publicKey), subjectID: signer.id }, broker.now());
    await broker.post("/v1/subjects", { events: [event] });
    await go("key");
    say(t("key.registered"));
  });
}

async function forgetKey() {
  clearMessages();
  if (!(await ask(t("key.forget.confirm")))) return;
  await act(async () => {
    await keys.forget();
    signer = null; broker = null;
    await go("key");
  });
}

// ---- Navigation ----------------------------------------------------------------------------

async function act(work) {
  const busy = document.getElementById("main");
  busy.setAttribute("aria-busy", "true");
  try { await work(); } catch (error) { fail(error); } finally { busy.removeAttribute("aria-busy"); }
}

let shown = 0;    // which call of show() is the latest: only its view is put on the page

/**
 * Shows a view after an action: the address names it (so reloading, or going back, shows what
 * it says) and the focus goes to its heading.
 */
async function go(name) {
  if (location.hash !== "#" + name) history.pushState(null, "", "#" + name);
  await showFocused(name);
}

/** Shows a view and moves the focus to its heading, so keyboard and screen-reader users start there. */
async function showFocused(name) {
  await show(name);
  document.getElementById("view-title")?.focus();
}

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
  // The link of the view shown reads it again (the address does not change, so no hashchange).
  for (const link of document.querySelectorAll("nav a")) {
    link.addEventListener("click", async (event) => {
      if (link.getAttribute("href") !== location.hash) return;
      event.preventDefault();
      clearMessages();
      await showFocused(location.hash.slice(1));
    });
  }
  // The skip link moves the focus, not the address (which names the view).
  document.getElementById("skip").addEventListener("click", (event) => { event.preventDefault(); main().focus(); });
  if (!window.crypto?.subtle) { say(t("error.noWebCrypto"), "error"); return; }
  try {
    signer = await keys.load();
  } catch {
    say(t("error.storage"), "error");
    return;
  }
  if (signer) broker = new Broker(signer);
  window.addEventListener("hashchange", async () => {
    if (location.hash === "#main") return;
    clearMessages();
    await showFocused(location.hash.slice(1));
  });
  await show(location.hash.slice(1) || (signer ? "requests" : "key"));
}

start().catch(fail).finally(() => { document.body.dataset.ready = "true"; });
