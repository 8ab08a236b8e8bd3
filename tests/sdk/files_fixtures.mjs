// Shared helpers for the file storage suites (files*.test.mjs).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './harness.mjs';

/** A valid RGB PNG of w x h pixels (a gradient, so it does not compress to nothing). */
export function makePng(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 7) & 255;
      raw[o + 1] = (y * 5) & 255;
      raw[o + 2] = 100;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR. */
export function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString(), 'PNG', 'a PNG');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

/** A File for SDK uploads. */
export function file(name, content, type = 'application/octet-stream') {
  return new File([content], name, { type });
}

/** FILES_STORAGE=s3 runs the file suites against a real S3 server (moto). */
export const ON_S3 = process.env.FILES_STORAGE === 's3';
const BUCKET = 'cairn-files';
let moto = null; // { child, url }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts moto's S3 server on a free loopback port and creates the bucket. */
export async function startMoto() {
  if (moto) return moto;
  const port = await freePort();
  const bin = path.join(REPO_ROOT, '.venv', 'bin', 'moto_server');
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  process.on('exit', () => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/${BUCKET}`, { method: 'PUT' });
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('moto_server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  moto = { child, url };
  return moto;
}

/** Stops the moto server started by this process (by PID). */
export async function stopMoto() {
  if (!moto) return;
  try {
    process.kill(moto.child.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  moto = null;
}

/** The settings' `s3` object pointing at the moto bucket. */
export function s3Settings(url) {
  return { enabled: true, bucket: BUCKET, region: 'us-east-1', endpoint: url, accessKey: 'test', secret: 'test', forcePathStyle: true };
}

/** In S3 mode: starts moto and switches the server's storage to it. */
export async function useStorage(srv) {
  if (!ON_S3) return;
  const { url } = await startMoto();
  await srv.pb.settings.update({ s3: s3Settings(url) });
}

/** Every object key in the moto bucket under `prefix`. */
export async function bucketKeys(prefix) {
  const keys = [];
  let token = '';
  for (;;) {
    const q = new URLSearchParams({ 'list-type': '2', prefix });
    if (token) q.set('continuation-token', token);
    const xml = await (await fetch(`${moto.url}/${BUCKET}?${q}`)).text();
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1]);
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
    if (!next) break;
    token = next[1];
  }
  return keys;
}

/**
 * Files stored for a record (or a collection), as paths relative to that
 * directory: the local `<dir>/storage/...`, or the bucket in S3 mode.
 * PocketBase's `.attrs` sidecars are left out.
 */
export async function storedFiles(srv, collectionId, recordId = '') {
  const prefix = recordId ? `${collectionId}/${recordId}/` : `${collectionId}/`;
  if (ON_S3) {
    return (await bucketKeys(prefix)).map((k) => k.slice(prefix.length)).filter((k) => !k.endsWith('.attrs')).sort();
  }
  const base = path.join(srv.dir, 'storage', collectionId, recordId);
  const out = [];
  const walk = (dir, rel) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (!e.name.endsWith('.attrs')) out.push(r);
    }
  };
  walk(base, '');
  return out.sort();
}

/** Polls `fn` until it returns true (deletions happen just after the commit). */
export async function eventually(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
