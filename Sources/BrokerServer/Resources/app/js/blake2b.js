// BLAKE2b (RFC 7693), unkeyed, output 1 to 64 bytes: what libsodium's crypto_generichash
// computes, which the broker uses for person ids, consent ids and event hashes. WebCrypto has
// no BLAKE2b, so the page carries this transcription of the RFC's reference code; the browser
// test checks it against libsodium's output (docs/dashboard.md).

const IV = [
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
];

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

// 64-bit words as pairs of 32-bit halves (low at even index) in a Uint32Array.
function add64(v, a, b) {
  const lo = v[a] + v[b];
  let hi = v[a + 1] + v[b + 1];
  if (lo >= 0x100000000) hi++;
  v[a] = lo; v[a + 1] = hi;
}

function add64c(v, a, lo0, hi0) {
  const lo = v[a] + lo0;
  let hi = v[a + 1] + hi0;
  if (lo >= 0x100000000) hi++;
  v[a] = lo; v[a + 1] = hi;
}

function g(v, m, a, b, c, d, x, y) {
  add64(v, a, b); add64c(v, a, m[x], m[x + 1]);
  let lo = v[d] ^ v[a], hi = v[d + 1] ^ v[a + 1];
  v[d] = hi; v[d + 1] = lo;                                   // rotr 32
  add64(v, c, d);
  lo = v[b] ^ v[c]; hi = v[b + 1] ^ v[c + 1];
  v[b] = (lo >>> 24) ^ (hi << 8); v[b + 1] = (hi >>> 24) ^ (lo << 8);    // rotr 24
  add64(v, a, b); add64c(v, a, m[y], m[y + 1]);
  lo = v[d] ^ v[a]; hi = v[d + 1] ^ v[a + 1];
  v[d] = (lo >>> 16) ^ (hi << 16); v[d + 1] = (hi >>> 16) ^ (lo << 16);  // rotr 16
  add64(v, c, d);
  lo = v[b] ^ v[c]; hi = v[b + 1] ^ v[c + 1];
  v[b] = (hi >>> 31) ^ (lo << 1); v[b + 1] = (lo >>> 31) ^ (hi << 1);    // rotr 63
}

function compress(h, block, counter, last) {
  const v = new Uint32Array(32);
  const m = new Uint32Array(32);
  for (let i = 0; i < 16; i++) { v[i] = h[i]; v[i + 16] = IV[i]; }
  v[24] ^= counter >>> 0;
  v[25] ^= Math.floor(counter / 0x100000000);
  if (last) { v[28] = ~v[28]; v[29] = ~v[29]; }
  for (let i = 0; i < 32; i++) {
    m[i] = block[4 * i] | (block[4 * i + 1] << 8) | (block[4 * i + 2] << 16) | (block[4 * i + 3] << 24);
  }
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r];
    g(v, m, 0, 8, 16, 24, s[0] * 2, s[1] * 2);
    g(v, m, 2, 10, 18, 26, s[2] * 2, s[3] * 2);
    g(v, m, 4, 12, 20, 28, s[4] * 2, s[5] * 2);
    g(v, m, 6, 14, 22, 30, s[6] * 2, s[7] * 2);
    g(v, m, 0, 10, 20, 30, s[8] * 2, s[9] * 2);
    g(v, m, 2, 12, 22, 24, s[10] * 2, s[11] * 2);
    g(v, m, 4, 14, 16, 26, s[12] * 2, s[13] * 2);
    g(v, m, 6, 8, 18, 28, s[14] * 2, s[15] * 2);
  }
  for (let i = 0; i < 16; i++) h[i] ^= v[i] ^ v[i + 16];
}

/** BLAKE2b of `input` (Uint8Array), `outlen` bytes (the output length is a parameter of the hash). */
export function blake2b(input, outlen = 32) {
  if (!(outlen >= 1 && outlen <= 64)) throw new Error("BLAKE2b output is 1 to 64 bytes");
  const h = new Uint32Array(IV);
  h[0] ^= 0x01010000 ^ outlen;
  const block = new Uint8Array(128);
  let offset = 0;
  let counter = 0;
  // Every full block but the last is compressed as it comes.
  while (input.length - offset > 128) {
    block.set(input.subarray(offset, offset + 128));
    counter += 128;
    compress(h, block, counter, false);
    offset += 128;
  }
  block.fill(0);
  block.set(input.subarray(offset));
  counter += input.length - offset;
  compress(h, block, counter, true);
  const out = new Uint8Array(outlen);
  for (let i = 0; i < outlen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3));
  return out;
}
