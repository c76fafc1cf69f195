// Entry point of the node-app image: `node src/server.js`, port from PORT (default 8080).
import http from 'node:http';
import { APP_NAME, bufferedLog, createApp, onClientError } from './app.js';

// In-flight requests get this long after SIGTERM (ECS stopTimeout is 30 s by default);
// SHUTDOWN_TIMEOUT_S overrides it (the tests use 1 s to see the bound enforced).
const DRAIN_TIMEOUT_MS = Number(process.env.SHUTDOWN_TIMEOUT_S || 10) * 1000;

function parsePort(value) {
  if (value === undefined || value === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`PORT must be an integer 0..65535, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return port;
}

const log = (fields) =>
  bufferedLog(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', app: APP_NAME, ...fields })}\n`);

const port = parsePort(process.env.PORT);
const host = process.env.HOST || '0.0.0.0';
const app = createApp();
const server = http.createServer(app.handler);
// Longer than the ALB idle timeout (60 s), so the ALB, not the app, closes idle connections.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.on('clientError', onClientError);

server.listen(port, host, () => {
  log({ msg: 'listening', host, port: server.address().port, pid: process.pid });
});

function shutdown(signal) {
  if (app.state.shuttingDown) return;
  app.state.shuttingDown = true; // every later response carries `connection: close`
  log({ msg: 'shutting down', signal });
  server.close(() => {
    log({ msg: 'stopped' });
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => {
    log({ msg: 'drain timeout, closing remaining connections', timeout_ms: DRAIN_TIMEOUT_MS });
    server.closeAllConnections();
    process.exit(0);
  }, DRAIN_TIMEOUT_MS).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
