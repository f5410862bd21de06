<?php
// PHP's http:// stream wrapper (file_get_contents) as a service's outgoing calls, for
// make-client-fixtures.sh; logs one JSON line per exchange it completed ({"method","url",
// "status"}) to LOG. Every call is a connection of its own (`Connection: close`).
//     php client_php.php LOG BASE
[$_, $log, $base] = $argv;
$echo = '{"method_code":"PAY01","orderId":"ORD000000012345","amount":12800}';

function call(string $log, string $method, string $url, string $content = null, array $headers = []): void {
    $http = ['method' => $method, 'ignore_errors' => true, 'timeout' => 5,
             'header' => array_merge(['User-Agent: mall-app/5.1.0 (php)'], $headers)];
    if ($content !== null) $http['content'] = $content;
    $body = @file_get_contents($url, false, stream_context_create(['http' => $http]));
    if ($body === false || !isset($http_response_header[0])) { fwrite(STDERR, "php: $method $url failed\n"); return; }
    // the last status line: a 1xx before it would be the first
    $status = 0;
    foreach ($http_response_header as $h) if (preg_match('#^HTTP/\S+ (\d{3})#', $h, $m)) $status = (int)$m[1];
    file_put_contents($log, json_encode(['method' => $method, 'url' => $url, 'status' => $status],
                                        JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND);
}

call($log, 'GET', "$base/api/order?php=1");
call($log, 'POST', "$base/api/echo?php=1", $echo, ['Content-Type: application/json']);
call($log, 'HEAD', "$base/api/order?php=head");
call($log, 'GET', "$base/api/fail?php=1", null, ['T-Code: d123456789']);
call($log, 'GET', "$base/api/trailer?php=1");
call($log, 'GET', "$base/api/errorcode?php=1");
