// The broker's wire formats, from docs/ledger-format.md and docs/api.md: canonical JSON, the
// author signing input of a ledger event, the submit body, and RFC 9421 request signatures.
// Signing happens in keys.js with a key this module never sees.
import { blake2b } from "./blake2b.js";

const utf8 = new TextEncoder();

export function bytes(text) { return utf8.encode(text); }

export function hex(data) { return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(""); }

export function base64(data) {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return btoa(s);
}

/** Bytes from base64, padded or not, standard or URL-safe; throws on anything else. */
export function unbase64(text) {
  const standard = String(text).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(standard + "=".repeat((4 - (standard.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * Canonical JSON (docs/ledger-format.md): keys sorted by their UTF-8 bytes at every level, no
 * whitespace, integers only, optional fields left out (never null), strings as JSON.stringify
 * writes them (which escapes exactly what the broker's encoder escapes, and not '/').
 */
export function canonicalJSON(value) {
  if (value === null || value === undefined) throw new Error("canonical JSON has no null");
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`canonical JSON holds integers only, not ${value}`);
    return String(value);
  }
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJSON).join(",") + "]";
  const keys = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
  keys.sort((a, b) => compareBytes(bytes(a), bytes(b)));
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJSON(value[k])).join(",") + "}";
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function u16(n) { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, n); return b; }
function u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; }
export function i64(n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(n)); return b; }
export function u64(n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; }
function lp(data) { return concat(u32(data.length), data); }

/** The bytes an event's author signs (docs/ledger-format.md, "Author signature"). */
export function eventSigningInput(streamID, type, schemaVersion, authorID, timeMs, payload) {
  return concat(bytes("mydata/event-signature/v1"), new Uint8Array([0]), lp(bytes(streamID)), lp(bytes(type)),
    u16(schemaVersion), lp(bytes(authorID)), i64(timeMs), lp(payload));
}

/** The person id of an Ed25519 public key: `sub_` and BLAKE2b-128 of the key, in hex. */
export function subjectID(publicKey) { return "sub_" + hex(blake2b(publicKey, 16)); }

/** The consent id a person's grant of a request takes. */
export function consentID(requestID, subject) {
  return "con_" + hex(blake2b(bytes("consent\u0000" + requestID + "\u0000" + subject), 16));
}

/** The stream each event the page writes belongs to. */
export const streams = {
  "subject.registered": (p) => "subject:" + p.subjectID,
  "subject.erased": (p) => "subject:" + p.subjectID,
  "consent.granted": (p) => "consent:" + p.consentID,
  "consent.revoked": (p) => "consent:" + p.consentID,
  "device.confirmed": (p) => "device:" + p.manufacturer + "/" + p.deviceID,
};

/** A wire event (`{"events":[…]}` holds them) signed by `signer` (keys.js). */
export async function signedEvent(signer, type, payload, timeMs) {
  const payloadBytes = bytes(canonicalJSON(payload));
  const streamID = streams[type](payload);
  const signature = await signer.sign(eventSigningInput(streamID, type, 1, signer.id, timeMs, payloadBytes));
  return {
    streamID, type, schemaVersion: 1, time: timeMs, authorID: signer.id,
    payload: base64(payloadBytes), signature: base64(signature),
  };
}

/** A problem the broker answered (RFC 9457): its title and detail are what the page shows. */
export class Problem extends Error {
  constructor(status, body) {
    super(body && body.detail ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.title = (body && body.title) || `HTTP ${status}`;
    this.detail = (body && body.detail) || "";
  }

  /** The problem of a refused answer: its RFC 9457 body, or its text as the detail. */
  static of(status, answer) { return new Problem(status, typeof answer === "object" ? answer : { detail: answer }); }
}

/** A response's body: JSON when it says so, otherwise its text. */
async function read(response) {
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** The broker's API, each request signed (RFC 9421) with the person's key, as the CLI signs. */
export class Broker {
  constructor(signer, origin = location.origin) {
    this.signer = signer;
    this.origin = origin;
    this.skewMs = 0;    // the broker's clock minus ours, from its Date header
  }

  now() { return Date.now() + this.skewMs; }

  /**
   * One signed request. A signature the broker finds stale (our clock is off by more than its
   * ±300 s) is made once more with the broker's time, learnt from the refusal's Date header.
   */
  async request(method, path, body, retried = false) {
    const url = new URL(path, this.origin);
    const target = `${url.protocol.slice(0, -1)}://${url.host}${url.pathname}${url.search}`;
    const headers = { "MyData-Subject-Key": base64(this.signer.publicKey) };
    const covered = ['"@method"', '"@target-uri"'];
    const lines = [`"@method": ${method}`, `"@target-uri": ${target}`];
    let data;
    if (body !== undefined) {
      data = bytes(JSON.stringify(body));
      const digest = `sha-256=:${base64(new Uint8Array(await crypto.subtle.digest("SHA-256", data)))}:`;
      headers["Content-Type"] = "application/json";
      headers["Content-Digest"] = digest;
      covered.push('"content-digest"');
      lines.push(`"content-digest": ${digest}`);
    }
    const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
    const params = `(${covered.join(" ")});created=${Math.floor(this.now() / 1000)};nonce="${nonce}";keyid="${this.signer.id}";alg="ed25519"`;
    lines.push(`"@signature-params": ${params}`);
    const signature = await this.signer.sign(bytes(lines.join("\n")));
    headers["Signature-Input"] = `sig1=${params}`;
    headers["Signature"] = `sig1=:${base64(signature)}:`;
    const response = await fetch(url, { method, headers, body: data, credentials: "omit", cache: "no-store" });
    const skewBefore = this.skewMs;
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) this.skewMs = date - Date.now();
    const answer = await read(response);
    if (!response.ok) {
      const stale = response.status === 401 && answer?.code === "staleSignature";
      if (stale && !retried && Math.abs(this.skewMs - skewBefore) > 5000) return this.request(method, path, body, true);
      throw Problem.of(response.status, answer);
    }
    return answer;
  }

  /**
   * Every entry of a paged listing (newest first, `nextCursor` passed back as `before`), at most
   * `max` of them; `truncated` says whether more were left.
   */
  async list(path, key, max = 2000) {
    const entries = [];
    let cursor = null;
    do {
      const page = await this.get(`${path}${path.includes("?") ? "&" : "?"}limit=500${cursor ? "&before=" + encodeURIComponent(cursor) : ""}`);
      entries.push(...page[key]);
      cursor = page.nextCursor;
    } while (cursor && entries.length < max);
    return { entries: entries.slice(0, max), truncated: Boolean(cursor) || entries.length > max };
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body); }

  /** The unsigned public documents (the policy, the log's key). */
  async public(path) {
    const response = await fetch(new URL(path, this.origin), { credentials: "omit", cache: "no-store" });
    const answer = await read(response);
    if (!response.ok) throw Problem.of(response.status, answer);
    return answer;
  }

  /** Submits events signed by the person, registering them first if the broker does not know them. */
  async submit(path, events) {
    const me = await this.get("/v1/me");
    if (!me.registered) {
      const registration = await signedEvent(this.signer, "subject.registered",
        { signingKey: base64(this.signer.publicKey), subjectID: this.signer.id }, this.now());
      events = [registration, ...events];
    }
    return this.post(path, { events });
  }
}
