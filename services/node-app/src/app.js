// The launchlab contract (../openapi.yaml) on node:http alone: no framework, no dependencies.
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

export const APP_NAME = 'node-app';
export const MAX_BODY_BYTES = 1024 * 1024;
// Bytes of an oversized body read and thrown away after a 413 so the client sees the
// response instead of a reset; past this the socket is dropped.
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;
const METADATA_TIMEOUT_MS = 1000;
// Hash rounds between two yields to the event loop: keeps /health answering during /compute.
const ROUNDS_PER_TURN = 2000;

class HttpError extends Error {
  constructor(status, code, message, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const invalid = (field, problem) => new HttpError(422, 'validation_error', `${field}: ${problem}`);

// ---- launch type ------------------------------------------------------------------------

function getJson(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    // One bound for connect + response: the metadata endpoint is link-local, so 1 s is generous.
    const timer = setTimeout(() => req.destroy(new Error('metadata timeout')), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
  });
}

// Task metadata LaunchType -> what GET / answers (ECS Managed Instances tasks report
// MANAGED_INSTANCES; Express Mode runs on Fargate).
const ECS_LAUNCH_TYPES = { EC2: 'ecs-ec2', FARGATE: 'fargate', MANAGED_INSTANCES: 'ecs-managed-instances' };
const EXECUTION_ENVS = { AWS_ECS_EC2: 'ecs-ec2', AWS_ECS_FARGATE: 'fargate' };

// Resolves once per process: {launchType, taskArn}. Never rejects.
export async function detectLaunch(env) {
  const localId = `${os.hostname()}:${process.pid}`;
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    // Lambda sets AWS_LAMBDA_MAX_CONCURRENCY only on Lambda Managed Instances.
    const launchType = env.AWS_LAMBDA_MAX_CONCURRENCY ? 'lambda-managed-instances' : 'lambda';
    return { launchType, instanceId: localId };
  }
  const fromExecEnv = EXECUTION_ENVS[env.AWS_EXECUTION_ENV];
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri) return { launchType: fromExecEnv ?? 'local', instanceId: localId };
  try {
    const task = await getJson(`${uri}/task`, METADATA_TIMEOUT_MS);
    return {
      // Fargate always sets AWS_EXECUTION_ENV, so ECS without either signal is EC2.
      launchType: ECS_LAUNCH_TYPES[task.LaunchType] ?? fromExecEnv ?? 'ecs-ec2',
      instanceId: typeof task.TaskARN === 'string' && task.TaskARN ? task.TaskARN : localId,
    };
  } catch {
    return { launchType: fromExecEnv ?? 'ecs-ec2', instanceId: localId };
  }
}

// ---- request bodies ---------------------------------------------------------------------

function isJsonContentType(value) {
  if (!value) return false;
  const [type, ...params] = value.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  for (const param of params) {
    const [key, val = ''] = param.split('=');
    if (key.trim().toLowerCase() === 'charset' && val.trim().replace(/"/g, '').toLowerCase() !== 'utf-8') {
      return false;
    }
  }
  return true;
}

const tooLarge = () => new HttpError(413, 'payload_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (rejected) {
        if (size > MAX_BODY_BYTES + MAX_DRAIN_BYTES) req.socket.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        rejected = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!rejected) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!rejected) reject(err);
    });
  });
}

async function readJson(req) {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    const err = tooLarge();
    // Node reads and discards an unread body after the response; a huge one is not worth it.
    if (Number(declared) > MAX_BODY_BYTES + MAX_DRAIN_BYTES) err.headers = { connection: 'close' };
    throw err;
  }
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const raw = await readBody(req);
  let text;
  try {
    // fatal: invalid UTF-8 is an error; ignoreBOM: keep a BOM so JSON.parse rejects it (as Python does).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${err.message}`);
  }
}

// ---- validation (mirrors components.schemas in openapi.yaml) ---------------------------

// Lengths are Unicode code points, as in JSON Schema (and Python's len).
function codePoints(s, max) {
  if (s.length <= max) return s.length; // UTF-16 length is an upper bound
  let n = 0;
  for (const _ of s) n += 1; // eslint-disable-line no-unused-vars
  return n;
}

function checkString(field, value, min, max) {
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (!value.isWellFormed()) throw invalid(field, 'must be well-formed Unicode (no lone surrogates)');
  const n = codePoints(value, max);
  if (n < min || n > max) throw invalid(field, `must be ${min} to ${max} characters long`);
}

function checkObject(body, allowed, required) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('body', 'must be a JSON object');
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw invalid(key, 'is not an allowed property');
  }
  for (const key of required) {
    if (!Object.hasOwn(body, key)) throw invalid(key, 'is required');
  }
}

export function validateCompute(body) {
  checkObject(body, ['payload', 'rounds'], ['payload', 'rounds']);
  checkString('payload', body.payload, 0, 4096);
  const { rounds } = body;
  if (typeof rounds !== 'number' || !Number.isInteger(rounds)) throw invalid('rounds', 'must be an integer');
  if (rounds < 1 || rounds > 100000) throw invalid('rounds', 'must be between 1 and 100000');
  return { payload: body.payload, rounds };
}

export function validateEcho(body) {
  checkObject(body, ['message', 'tags'], ['message']);
  checkString('message', body.message, 1, 1024);
  const out = { message: body.message };
  if (Object.hasOwn(body, 'tags')) {
    const { tags } = body;
    if (!Array.isArray(tags)) throw invalid('tags', 'must be an array');
    if (tags.length > 10) throw invalid('tags', 'must have at most 10 items');
    tags.forEach((tag, i) => checkString(`tags[${i}]`, tag, 1, 64));
    out.tags = tags;
  }
  return out;
}

// h0 = sha256(utf8(payload)); h(i+1) = sha256(h(i)); result hex(h(rounds)).
export async function iteratedSha256(payload, rounds) {
  let digest = crypto.hash('sha256', Buffer.from(payload, 'utf8'), 'buffer');
  for (let i = 1; i <= rounds; i += 1) {
    digest = crypto.hash('sha256', digest, 'buffer');
    if (i % ROUNDS_PER_TURN === 0) await nextTurn();
  }
  return digest.toString('hex');
}

// ---- the app ----------------------------------------------------------------------------

// Request log lines written in the same event-loop turn go out in one write: under load that
// is one syscall per turn instead of one per request. Nothing waits longer than that turn.
let pending = '';
function flushLog() {
  const out = pending;
  pending = '';
  if (out) process.stdout.write(out);
}
export function bufferedLog(line) {
  if (!pending) setImmediate(flushLog);
  pending += line;
}
process.on('exit', flushLog);

export function createApp({ env = process.env, log = bufferedLog } = {}) {
  const state = { shuttingDown: false, servedFirst: false };
  let launch;
  const runtime = `node ${process.versions.node}`;
  const version = env.APP_VERSION || 'dev';

  const routes = new Map([
    ['/health', { allow: 'GET, HEAD', methods: { GET: health, HEAD: health } }],
    ['/', { allow: 'GET, HEAD', methods: { GET: info, HEAD: info } }],
    ['/compute', { allow: 'POST', methods: { POST: compute } }],
    ['/echo', { allow: 'POST', methods: { POST: echo } }],
  ]);

  async function health() {
    return { status: 'ok' };
  }

  let launched; // the settled value of `launch`: later requests skip the await
  async function info(_req, cold) {
    if (!launched) {
      launch ??= detectLaunch(env);
      launched = await launch;
    }
    const { launchType, instanceId } = launched;
    return { app: APP_NAME, runtime, version, launch_type: launchType, instance_id: instanceId, cold };
  }

  async function compute(req) {
    const { payload, rounds } = validateCompute(await readJson(req));
    const started = performance.now();
    const digest = await iteratedSha256(payload, rounds);
    const elapsed = Math.round((performance.now() - started) * 1000) / 1000;
    return { digest, rounds, elapsed_ms: elapsed };
  }

  async function echo(req) {
    const body = validateEcho(await readJson(req));
    return { ...body, received_at: new Date().toISOString() };
  }

  function send(res, status, payload, headers = {}) {
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(state.shuttingDown ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(body); // Node drops the body itself for HEAD
  }

  function sendError(res, err) {
    send(res, err.status, { error: { status: err.status, code: err.code, message: err.message } }, err.headers);
  }

  async function handler(req, res) {
    const started = performance.now();
    const query = req.url.indexOf('?');
    const path = query === -1 ? req.url : req.url.slice(0, query);
    res.on('close', () => {
      const entry = {
        time: new Date().toISOString(),
        level: 'info',
        app: APP_NAME,
        method: req.method,
        path,
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      };
      if (!res.writableFinished) entry.aborted = true;
      log(`${JSON.stringify(entry)}\n`);
    });
    try {
      const route = routes.get(path);
      if (!route) throw new HttpError(404, 'not_found', `no route for ${path}`);
      const fn = route.methods[req.method];
      if (!fn) {
        throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}; use ${route.allow}`, {
          allow: route.allow,
        });
      }
      let cold = false;
      if (path !== '/health') {
        cold = !state.servedFirst;
        state.servedFirst = true;
      }
      send(res, 200, await fn(req, cold));
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendError(res, err);
      } else {
        process.stderr.write(`${JSON.stringify({ level: 'error', app: APP_NAME, message: String(err?.stack ?? err) })}\n`);
        sendError(res, new HttpError(500, 'internal_error', 'internal error'));
      }
    }
  }

  return { handler, state };
}

const STATUS_TEXT = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

// Unparseable HTTP never reaches the handler: answer it in the contract's error shape too.
export function onClientError(err, socket) {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  if (err.code === 'HPE_HEADER_OVERFLOW') status = 431;
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
  const code = { 400: 'bad_request', 408: 'request_timeout', 431: 'headers_too_large' }[status];
  const body = JSON.stringify({ error: { status, code, message: `malformed HTTP request (${err.code ?? 'error'})` } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
