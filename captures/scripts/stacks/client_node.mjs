// Node's built-in fetch (undici) and `http` with a keep-alive Agent as a service's outgoing calls,
// for make-client-fixtures.sh; logs one JSON line per exchange it completed ({"method","url",
// "status"}) to LOG.
//     node client_node.mjs LOG BASE [NEGOTIATING_BASE]
// fetch: its pool (keep-alive), the encodings it asks for and inflates itself (NEGOTIATING_BASE's
// /api/negotiate, /api/br), HEAD, a JSON POST, a ReadableStream body (sent chunked), a trailer;
// http.Agent({keepAlive}): a few calls on one kept connection.
import fs from 'node:fs';
import http from 'node:http';

const [logPath, base, negotiating] = process.argv.slice(2);
const ECHO = '{"method_code":"PAY01","orderId":"ORD000000012345","amount":12800}';
const UA = 'mall-app/5.1.0 (node)';
const log = (method, url, status) => fs.appendFileSync(logPath, JSON.stringify({ method, url, status }) + '\n');

async function f(method, url, init = {}) {
  try {
    const r = await fetch(url, { method, ...init, headers: { 'User-Agent': UA, ...(init.headers || {}) } });
    await r.arrayBuffer();  // the whole body, inflated by undici where it was encoded
    log(method, url, r.status);
  } catch (e) {
    console.error('fetch:', method, url, e.cause || e);
  }
}

function viaAgent(agent, method, url, body) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent, headers: { 'User-Agent': UA, 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => { log(method, url, res.statusCode); resolve(); });
    });
    req.on('error', (e) => { console.error('http:', method, url, e); resolve(); });
    req.end(body);
  });
}

await f('GET', `${base}/api/order?fetch=1`);
await f('GET', `${base}/api/order?fetch=2`, { headers: { 'T-Code': 'c123456789' } });
if (negotiating) {
  await f('GET', `${negotiating}/api/negotiate?fetch=1`);
  await f('GET', `${negotiating}/api/br?fetch=1`);
  await f('GET', `${negotiating}/api/negotiate?fetch=deflate`, { headers: { 'Accept-Encoding': 'deflate' } });
}
await f('HEAD', `${base}/api/order?fetch=head`);
await f('POST', `${base}/api/echo?fetch=1`, { body: ECHO, headers: { 'Content-Type': 'application/json' } });
const stream = new ReadableStream({
  async start(c) {
    c.enqueue(new TextEncoder().encode(ECHO.slice(0, 20)));
    await new Promise((r) => setTimeout(r, 20));
    c.enqueue(new TextEncoder().encode(ECHO.slice(20)));
    c.close();
  },
});
await f('POST', `${base}/api/echo?fetch=stream`, { body: stream, duplex: 'half', headers: { 'Content-Type': 'application/json' } });
await f('GET', `${base}/api/trailer?fetch=1`);
await f('GET', `${base}/api/fail?fetch=1`);
await f('GET', `${base}/api/errorcode?fetch=1`);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
await viaAgent(agent, 'GET', `${base}/api/order?agent=1`);
await viaAgent(agent, 'POST', `${base}/api/echo?agent=1`, ECHO);
await viaAgent(agent, 'GET', `${base}/api/nocontent?agent=1`);
await viaAgent(agent, 'GET', `${base}/api/order?agent=2`);
agent.destroy();
