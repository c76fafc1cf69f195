// Runs the real entry point (`node src/server.js`) on an ephemeral port on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../src/server.js', import.meta.url));

async function startServer(env = {}) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', APP_VERSION: 'test-1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = [];
  let buffered = '';
  let resolvePort;
  const port = new Promise((resolve) => (resolvePort = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data) => {
    buffered += data;
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      if (line.msg === 'listening') resolvePort(line.port);
    }
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return { child, lines, port: await port, stop: () => { clearTimeout(timeout); child.kill('SIGKILL'); } };
}

const sha = (data) => crypto.createHash('sha256').update(data).digest();

describe('node-app over the wire', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer();
    base = `http://127.0.0.1:${srv.port}`;
  });
  after(() => srv.stop());

  test('GET / names the app, is cold once, then warm', async () => {
    const first = await (await fetch(`${base}/`)).json();
    const second = await (await fetch(`${base}/`)).json();
    assert.equal(first.app, 'node-app');
    assert.equal(first.runtime, `node ${process.versions.node}`);
    assert.equal(first.version, 'test-1');
    assert.equal(first.launch_type, 'local');
    assert.match(first.instance_id, /:\d+$/);
    assert.equal(first.cold, true);
    assert.equal(second.cold, false);
  });

  test('POST /compute matches an independent iterated SHA-256', async () => {
    let h = sha(Buffer.from('héllo', 'utf8'));
    for (let i = 0; i < 3000; i += 1) h = sha(h);
    const res = await fetch(`${base}/compute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'héllo', rounds: 3000 }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.digest, h.toString('hex'));
    assert.equal(body.rounds, 3000);
    assert.equal(typeof body.elapsed_ms, 'number');
  });

  test('bad inputs get the error shape and the process keeps serving', async () => {
    const cases = [
      [{ method: 'POST', path: '/echo', type: 'application/json', body: '{"message":' }, 400, 'invalid_json'],
      [{ method: 'POST', path: '/echo', type: 'application/json', body: '{"message":"hi","x":1}' }, 422, 'validation_error'],
      [{ method: 'POST', path: '/compute', type: 'application/json', body: '{"payload":"a","rounds":0}' }, 422, 'validation_error'],
      [{ method: 'POST', path: '/echo', type: 'text/plain', body: '{"message":"hi"}' }, 415, 'unsupported_media_type'],
      [{ method: 'GET', path: '/nope' }, 404, 'not_found'],
      [{ method: 'DELETE', path: '/health' }, 405, 'method_not_allowed'],
    ];
    for (const [req, status, code] of cases) {
      const res = await fetch(`${base}${req.path}`, {
        method: req.method,
        headers: req.type ? { 'content-type': req.type } : {},
        body: req.body,
      });
      assert.equal(res.status, status, `${req.method} ${req.path}`);
      assert.equal(res.headers.get('content-type'), 'application/json');
      const body = await res.json();
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'status']);
      assert.equal(body.error.code, code);
      assert.equal(body.error.status, status);
      if (status === 405) assert.equal(res.headers.get('allow'), 'GET, HEAD');
      if (status === 422) assert.match(body.error.message, /^(x|rounds):/);
      assert.equal((await fetch(`${base}/health`)).status, 200);
    }
  });

  test('a streamed body over 1 MiB is refused with 413', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 17; i += 1) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, 'payload_too_large');
  });

  test('logs one JSON line per request', async () => {
    await fetch(`${base}/health?probe=1`);
    await new Promise((r) => setTimeout(r, 50));
    const line = srv.lines.findLast((l) => l.path === '/health');
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
  });
});

test('SIGTERM finishes the in-flight request, refuses new connections, exits 0', async () => {
  const srv = await startServer();
  const body = JSON.stringify({ message: 'in flight' });
  const sock = net.connect(srv.port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(`POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
  sock.write(body.slice(0, 5));
  await new Promise((r) => setTimeout(r, 100));
  const exited = once(srv.child, 'exit');
  srv.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(fetch(`http://127.0.0.1:${srv.port}/health`));
  let response = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => (response += d));
  sock.end(body.slice(5));
  await once(sock, 'close');
  assert.match(response, /^HTTP\/1\.1 200 /);
  assert.match(response, /"message":"in flight"/);
  const [code] = await exited;
  assert.equal(code, 0);
  srv.stop();
});
