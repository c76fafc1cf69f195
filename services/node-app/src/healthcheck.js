// Container health check: `node /app/src/healthcheck.js` exits 0 when GET /health answers 200.
import http from 'node:http';

const port = Number(process.env.PORT || 8080);
const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 2000, agent: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
