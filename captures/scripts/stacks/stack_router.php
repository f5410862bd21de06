<?php
// The stack routes (see stack_wsgi.py) as a router script for PHP's built-in server, for
// make-stack-fixtures.sh --debian:  php -S 127.0.0.1:PORT stack_router.php
// The built-in server answers one request per connection (`Connection: close`), frames a body of
// unknown length (flush() before the end) as chunked for HTTP/1.1, and reads a request's body
// before the script runs.
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
function js($status, $obj) {
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($obj);
}
switch ($path) {
case '/api/order': js(200, ['code' => '0000', 'msg' => 'ok', 'orderId' => 'ORD000000012345']); break;
case '/api/fail': js(500, ['code' => 'E5001', 'msg' => 'upstream failed']); break;
case '/api/stream':
    header('Content-Type: application/x-ndjson');
    $n = intval($_GET['n'] ?? '4');
    for ($i = 0; $i < $n; $i++) { echo json_encode(['part' => $i]), "\n"; flush(); usleep(20000); }
    break;
case '/api/large':
    header('Content-Type: text/plain');
    $n = intval($_GET['bytes'] ?? '65536');
    $out = '';
    for ($i = 0; strlen($out) < $n; $i++) { $out .= sprintf("line %06d: the quick brown fox jumps over the lazy dog\n", $i); }
    header('Content-Length: ' . $n);
    echo substr($out, 0, $n);
    break;
case '/api/nocontent': http_response_code(204); break;
case '/api/etag':
    header('ETag: "v1"');
    if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === '"v1"') { http_response_code(304); break; }
    header('Content-Type: application/json');
    echo '{"code":"0000","v":1}';
    break;
case '/api/echo':
    header('Content-Type: ' . ($_SERVER['CONTENT_TYPE'] ?? 'application/octet-stream'));
    echo file_get_contents('php://input');
    break;
case '/api/gzip':
    header('Content-Type: application/json');
    header('Content-Encoding: gzip');
    $items = [];
    for ($i = 0; $i < 200; $i++) { $items[] = ['id' => $i, 'name' => "item $i"]; }
    echo gzencode(json_encode(['code' => '0000', 'items' => $items]));
    break;
default: js(404, ['code' => 'E404', 'msg' => 'no route']);
}
