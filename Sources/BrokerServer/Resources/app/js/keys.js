// The person's key in this browser: an Ed25519 key made by WebCrypto as non-extractable, so
// this page's own script can sign with it but never read it, kept in IndexedDB (which stores
// the CryptoKey object, not its bytes). It never leaves the browser. A key made by the CLI can
// be brought over once from `mydata key export` (docs/dashboard.md, "Bringing the CLI's key").
import { bytes, concat, subjectID, unbase64 } from "./wire.js";

const DB = "mydata", STORE = "keys", SLOT = "person";

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(new Error("storage"));
  });
}

async function transact(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(request && request.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error || new Error("storage")); };
  });
}

/** Signs with the stored private key; exposes only the id and the public key. */
class Signer {
  constructor(record) {
    this.id = record.id;
    this.publicKey = record.publicKey;
    this.createdAt = record.createdAt;
    this.origin = record.origin;
    this.privateKey = record.privateKey;
  }
  async sign(data) { return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.privateKey, data)); }
}

async function rawPublicKey(publicKey) { return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)); }

async function save(privateKey, publicKey, origin) {
  const record = { id: subjectID(publicKey), publicKey, privateKey, createdAt: Date.now(), origin };
  await transact("readwrite", (store) => store.put(record, SLOT));
  return new Signer(record);
}

/** The key kept in this browser, or null. */
export async function load() {
  const record = await transact("readonly", (store) => store.get(SLOT));
  return record ? new Signer(record) : null;
}

/** Makes a new key in this browser; its private half can never be read, by anyone. */
export async function create() {
  let pair;
  try {
    pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch {
    throw new Error("noWebCrypto");
  }
  return save(pair.privateKey, await rawPublicKey(pair.publicKey), "browser");
}

/** Forgets the key in this browser (the CLI's copy, if any, is untouched). */
export async function forget() { await transact("readwrite", (store) => store.delete(SLOT)); }

const EXPORT_FORMAT = "mydata-key-export-v1";
// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): what WebCrypto imports a private key from.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

function decoded(text, length) {
  let data;
  try { data = unbase64(text); } catch { throw new Error("importWrongFormat"); }
  if (length !== undefined && data.length !== length) throw new Error("importWrongFormat");
  return data;
}

/**
 * Brings over a key from a `mydata key export` file: PBKDF2-HMAC-SHA256 turns the passphrase
 * into an AES-256-GCM key, which opens the seed; the header is authenticated with it. The seed
 * is imported once, as a non-extractable key, and its bytes are overwritten at once. The key
 * is then shown to be the file's: it signs a random challenge that the file's public key (whose
 * hash is the file's id) verifies. No readable copy of the private key is ever made.
 */
export async function importExport(text, passphrase) {
  let file;
  try { file = JSON.parse(text); } catch { throw new Error("importFileNotJSON"); }
  if (!file || typeof file !== "object" || file.format !== EXPORT_FORMAT) throw new Error("importWrongFormat");
  if (file.kdf?.name !== "PBKDF2-HMAC-SHA256" || file.cipher?.name !== "AES-256-GCM") throw new Error("importWrongFormat");
  if (typeof file.id !== "string" || typeof file.publicKey !== "string") throw new Error("importWrongFormat");
  const iterations = file.kdf.iterations;
  if (!Number.isSafeInteger(iterations) || iterations < 100000 || iterations > 10000000) throw new Error("importWrongFormat");
  const salt = decoded(file.kdf.salt), nonce = decoded(file.cipher.nonce, 12), sealed = decoded(file.ciphertext, 32 + 16);
  const publicKey = decoded(file.publicKey, 32);
  if (salt.length < 16 || salt.length > 64) throw new Error("importWrongFormat");
  if (subjectID(publicKey) !== file.id) throw new Error("importKeyMismatch");
  const material = await crypto.subtle.importKey("raw", bytes(passphrase), "PBKDF2", false, ["deriveKey"]);
  const aes = await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  let seed;
  try {
    seed = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: exportHeader(file) }, aes, sealed));
  } catch {
    throw new Error("importWrongPassphrase");
  }
  const pkcs8 = concat(PKCS8_PREFIX, seed);
  let privateKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  } finally {
    seed.fill(0);
    pkcs8.fill(0);
  }
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, privateKey, challenge);
  const verifier = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, verifier, signature, challenge))) throw new Error("importKeyMismatch");
  return save(privateKey, publicKey, "cli");
}

/** The bytes the export's AES-GCM tag covers besides the seed: format, id and public key. */
function exportHeader(file) { return bytes(`${EXPORT_FORMAT}\n${file.id}\n${file.publicKey}\n`); }
