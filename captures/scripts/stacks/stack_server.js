// The stack routes (see stack_wsgi.py) on Node's `http` module, plus
//   GET /api/hints    103 Early Hints (writeEarlyHints), then 200 JSON
//   GET /api/trailer  chunked body with a trailer (addTrailers)
// and for the clients' fixtures (make-client-fixtures.sh):
//   GET /api/negotiate  the JSON in the best encoding the request accepts: br, gzip, deflate
//                       (zlib), else identity; Vary: Accept-Encoding
//   GET /api/br         the JSON brotli-encoded whatever the request accepts
//   GET /api/errorcode  200 JSON with `errorCode: 0` and no `code` (a partner's code, §3)
// res.write() without a length makes Node chunk; keepAliveTimeout 1 s, 6 requests per
// connection, or with KEEPALIVE_MS that keep-alive and no limit on requests.
//   node stack_server.js PORT [KEEPALIVE_MS]
'use strict';
const http = require('http');
const zlib = require('zlib');

function payload(n) {
  const parts = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const s = `line ${String(i).padStart(6, '0')}: the quick brown fox jumps over the lazy dog\n`;
    parts.push(s); len += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}
function json(res, status, obj, extra = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...extra });
  res.end(body);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  switch (url.pathname) {
    case '/api/order': return json(res, 200, { code: '0000', msg: 'ok', orderId: 'ORD000000012345' });
    case '/api/fail': return json(res, 500, { code: 'E5001', msg: 'upstream failed' });
    case '/api/stream': {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      const n = Number(url.searchParams.get('n') || 4);
      for (let i = 0; i < n; i++) { res.write(JSON.stringify({ part: i }) + '\n'); await sleep(20); }
      return res.end();
    }
    case '/api/large': {
      const b = payload(Number(url.searchParams.get('bytes') || 65536));
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': b.length });
      return res.end(b);
    }
    case '/api/nocontent': res.writeHead(204); return res.end();
    case '/api/etag':
      if (req.headers['if-none-match'] === '"v1"') { res.writeHead(304, { ETag: '"v1"' }); return res.end(); }
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"v1"', 'Content-Length': 21 });
      return res.end('{"code":"0000","v":1}');
    case '/api/echo':
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] || 'application/octet-stream', 'Content-Length': body.length });
      return res.end(body);
    case '/api/gzip': {
      const items = [];
      for (let i = 0; i < 200; i++) items.push({ id: i, name: `item ${i}` });
      const b = zlib.gzipSync(JSON.stringify({ code: '0000', items }));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': b.length });
      return res.end(b);
    }
    case '/api/negotiate': case '/api/br': {
      const b = Buffer.from(JSON.stringify({ code: '0000', msg: 'negotiated', items: [1, 2, 3] }));
      const accepted = String(req.headers['accept-encoding'] || '');
      const has = (e) => new RegExp(`(^|[ ,])${e}(;q=(0?\\.0*[1-9]|1)|[ ,]|$)`).test(accepted);
      const encoding = url.pathname === '/api/br' || has('br') ? 'br' : has('gzip') ? 'gzip' : has('deflate') ? 'deflate' : null;
      const encoded = { br: zlib.brotliCompressSync, gzip: zlib.gzipSync, deflate: zlib.deflateSync }[encoding]?.(b) ?? b;
      const headers = { 'Content-Type': 'application/json', 'Content-Length': encoded.length, Vary: 'Accept-Encoding' };
      if (encoding) headers['Content-Encoding'] = encoding;
      res.writeHead(200, headers);
      return res.end(encoded);
    }
    case '/api/errorcode': return json(res, 200, { errorCode: 0, msg: 'accepted' });
    case '/api/etag-cl':  // a 304 carrying the representation's Content-Length (allowed, RFC 9110 §8.6)
      res.writeHead(304, { ETag: '"v1"', 'Content-Length': 21 });
      return res.end();
    case '/api/hints':
      res.writeProcessing();  // 102
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeEarlyHints({ link: '</app.js>; rel=preload; as=script' });
      await sleep(20);
      return json(res, 200, { code: '0000', msg: 'hinted' });
    case '/api/trailer': {
      res.writeHead(200, { 'Content-Type': 'application/json', Trailer: 'X-Checksum' });
      res.write('{"code":"0000",');
      await sleep(20);
      res.write('"msg":"with trailer"}');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      return res.end();
    }
    default: return json(res, 404, { code: 'E404', msg: 'not found' });
  }
});
if (process.argv[3]) {
  server.keepAliveTimeout = Number(process.argv[3]);
} else {
  server.keepAliveTimeout = 1000;
  server.maxRequestsPerSocket = 6;  // the 6th response on a connection says Connection: close
}
server.listen(Number(process.argv[2]), '127.0.0.1');
