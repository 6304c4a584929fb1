// File: client/console/web/verify.js
//
// The page's own verifier: it recomputes each entry's leaf hash from the
// entry it shows (docs/wire-format.md §9), walks the inclusion proof up to
// the root (RFC 9162 §2.1.3.2), checks consistency proofs (§2.1.4.2), and
// checks the tree head's Ed25519 signature against the log key with
// WebCrypto. Nothing here trusts the console that served the data.
//
// Input is siltad's messages in protobuf's JSON mapping: uint64 as decimal
// strings, bytes as base64, Timestamps as RFC 3339, enums as numbers;
// absent fields are their defaults.
'use strict';

const SiltaVerify = (() => {
  const enc = new TextEncoder();

  function b64(text) {
    if (!text) return new Uint8Array(0);
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function concat(parts) {
    const n = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  function u32(n) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, n >>> 0);
    return out;
  }
  function u64(big) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(big)));
    return out;
  }
  function lp(bytes) {
    return concat([u32(bytes.length), bytes]);
  }
  function lps(text) {
    return lp(enc.encode(text || ''));
  }

  // micros(t) of an RFC 3339 Timestamp: seconds·10⁶ + nanos/1000.
  function micros(text) {
    if (!text) return 0n;
    const m = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(text);
    if (!m) throw new Error('not a timestamp: ' + text);
    const seconds = BigInt(Date.parse(m[1] + 'Z') / 1000);
    const nanos = BigInt((m[2] || '').padEnd(9, '0') || '0');
    return seconds * 1000000n + nanos / 1000n;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }
  const leafHashOf = (bytes) => sha256(concat([new Uint8Array([0]), bytes]));
  const nodeHash = (l, r) => sha256(concat([new Uint8Array([1]), l, r]));

  // The canonical bytes of an AuditEntry (docs/wire-format.md §9).
  function entryBytes(e) {
    const salt = b64(e.salt);
    const user = e.acting_user || {};
    const cats = e.categories || [];
    const parts = [
      enc.encode(salt.length ? 'SILTA-AUDIT-v2' : 'SILTA-AUDIT-v1'),
      u64(e.index || 0),
      u32(e.type || 0),
      u64(micros(e.at)),
      lps(e.actor_org_id),
      lps(user.worker_id),
      lps(user.role),
      lps(e.counterpart_org_id),
      lps(e.purpose),
      lps(e.subject_ref),
      lps(e.case_id),
      lps(e.message_id),
      u32(cats.length),
      ...cats.map((c) => u32(c)),
      u32(e.rule || 0),
      lps(e.rule_id),
      lps(e.statute_citation),
      new Uint8Array([e.justification_present ? 1 : 0]),
      lps(e.detail),
      lps(e.payload_type),
    ];
    if (salt.length) parts.push(lp(salt));
    return concat(parts);
  }

  async function entryLeafHash(e) {
    if (e.purged_leaf_hash) return b64(e.purged_leaf_hash);
    return leafHashOf(entryBytes(e));
  }

  const isHash = (h) => h instanceof Uint8Array && h.length === 32;

  // RFC 9162 §2.1.3.2.
  async function rootFromInclusion(index, size, leaf, path) {
    if (!isHash(leaf) || !path.every(isHash)) return null;
    let fn = BigInt(index);
    let sn = BigInt(size) - 1n;
    if (fn > sn) return null;
    let r = leaf;
    for (const p of path) {
      if (sn === 0n) return null;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n ? r : null;
  }

  async function verifyInclusion(index, size, leaf, path, root) {
    const r = await rootFromInclusion(index, size, leaf, path);
    return r !== null && equal(r, root);
  }

  // RFC 9162 §2.1.4.2.
  async function verifyConsistency(size1, size2, path, root1, root2) {
    let n1 = BigInt(size1);
    const n2 = BigInt(size2);
    if (n1 === 0n || n1 > n2) return false;
    if (n1 === n2) return path.length === 0 && equal(root1, root2);
    if (!isHash(root1) || !isHash(root2) || !path.every(isHash)) return false;
    let proof = path.slice();
    if ((n1 & (n1 - 1n)) === 0n) proof = [root1, ...proof];
    if (proof.length === 0) return false;
    let fn = n1 - 1n;
    let sn = n2 - 1n;
    while ((fn & 1n) === 1n) {
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = proof[0];
    let sr = proof[0];
    for (const c of proof.slice(1)) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equal(fr, root1) && equal(sr, root2);
  }

  function treeHeadBytes(h) {
    return concat([
      enc.encode('SILTA-TREE-HEAD-v2'),
      lps(h.log_id),
      lps(h.log_key_id),
      u64(h.tree_size || 0),
      b64(h.root_hash),
      u64(micros(h.timestamp)),
    ]);
  }

  // {ok, reason}: the head names the expected log (if any), its key id is
  // the log key's, and the signature verifies.
  async function verifyTreeHead(head, publicKey, expectedLogId) {
    if (!head || !head.log_id) return {ok: false, reason: 'the head names no log'};
    if (expectedLogId && head.log_id !== expectedLogId) {
      return {ok: false, reason: 'the head is of log ' + head.log_id + ', not ' + expectedLogId};
    }
    const keyId = hex((await sha256(publicKey)).slice(0, 8));
    if (head.log_key_id !== keyId) {
      return {ok: false, reason: 'signed by key ' + head.log_key_id + ', not the log key ' + keyId};
    }
    if (b64(head.root_hash).length !== 32) return {ok: false, reason: 'the root is not 32 bytes'};
    let ok = false;
    try {
      const key =
          await crypto.subtle.importKey('raw', publicKey, {name: 'Ed25519'}, false, ['verify']);
      ok = await crypto.subtle.verify(
          {name: 'Ed25519'}, key, b64(head.signature), treeHeadBytes(head));
    } catch (e) {
      return {ok: false, reason: 'this browser cannot check Ed25519 signatures: ' + e.message};
    }
    return ok ? {ok: true, reason: ''} : {ok: false, reason: 'the signature does not verify'};
  }

  // {ok, reason} for one ProvenEntry against a head already checked.
  async function verifyEntry(item, head, headResult) {
    if (!headResult.ok) return {ok: false, reason: headResult.reason};
    if (item.proof_error) return {ok: false, reason: item.proof_error};
    const e = item.entry || {};
    const path = (item.path || []).map(b64);
    const leaf = await entryLeafHash(e);
    const ok =
        await verifyInclusion(e.index || 0, head.tree_size || 0, leaf, path, b64(head.root_hash));
    return ok ? {ok: true, reason: '', leaf: hex(leaf)} :
                {ok: false, reason: 'the entry is not in the signed tree', leaf: hex(leaf)};
  }

  return {
    b64,
    hex,
    fromHex,
    micros,
    entryBytes,
    entryLeafHash,
    leafHashOf,
    nodeHash,
    verifyInclusion,
    verifyConsistency,
    verifyTreeHead,
    verifyEntry,
  };
})();
