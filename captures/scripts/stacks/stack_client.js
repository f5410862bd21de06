// Node clients for the stack fixtures: `http` with a keep-alive Agent (one
// socket), then fetch (undici, its own pool). One JSON line per exchange to LOG.
//   node stack_client.js BASE LOG
'use strict';
const http = require('http');
const fs = require('fs');
const [base, logFile] = process.argv.slice(2);
const log = (method, url, status) => fs.appendFileSync(logFile, JSON.stringify({ method, url, status }) + '\n');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ECHO = JSON.stringify({ method_code: 'PAY01', orderId: 'ORD000000012345', amount: 12800 });

function req(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request(base + path, { method, agent, headers: { 'User-Agent': 'mall-app/5.1.0 (node-http)', ...headers } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => { log(method, base + path, res.statusCode); resolve(); });
    });
    r.on('error', reject);
    if (body) r.end(body); else r.end();
  });
}

// A chunked request body (no length given) ending in a trailer field.
function chunkedWithTrailer(path) {
  return new Promise((resolve, reject) => {
    const r = http.request(base + path, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', Trailer: 'X-Sum' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => { log('POST', base + path, res.statusCode); resolve(); });
    });
    r.on('error', reject);
    r.write('{"method_code":');
    r.write('"TR01"}');
    r.addTrailers({ 'X-Sum': '42' });
    r.end();
  });
}

async function main() {
  for (let i = 0; i < 5; i++) await req('GET', `/api/order?i=${i}`);
  await req('GET', '/api/stream?n=3');
  await req('HEAD', '/api/order');
  await req('POST', '/api/echo', ECHO, { 'Content-Type': 'application/json' });
  await chunkedWithTrailer('/api/echo?trailer=1');
  await req('GET', '/api/hints');
  await req('GET', '/api/trailer');
  await req('GET', '/api/etag', null, { 'If-None-Match': '"v1"' });
  await req('GET', '/api/nocontent');
  await req('GET', '/api/etag-cl');
  agent.destroy();
  for (const [method, path, body] of [['GET', '/api/order?f=1'], ['POST', '/api/echo', ECHO], ['GET', '/api/stream?n=3'],
    ['GET', '/api/gzip'], ['GET', '/api/hints'], ['GET', '/api/fail']]) {
    const res = await fetch(base + path, { method, body, headers: body ? { 'Content-Type': 'application/json' } : {} });
    await res.arrayBuffer();
    log(method, base + path, res.status);
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
