# Ruby's net/http as a service's outgoing calls, for make-client-fixtures.sh; logs one JSON line
# per exchange it completed ({"method","url","status"}) to LOG.
#     ruby client_ruby.rb LOG BASE [NEGOTIATING_BASE]
# Net::HTTP.start: one kept connection for several calls; its default Accept-Encoding
# (gzip;q=1.0,deflate;q=0.6,identity;q=0.3) and the inflating it does itself; HEAD; a JSON POST; a
# body_stream sent chunked; then Net::HTTP.get_response, a connection per call.
require 'json'
require 'net/http'
require 'stringio'
require 'uri'

LOG, BASE, NEGOTIATING = ARGV
ECHO = '{"method_code":"PAY01","orderId":"ORD000000012345","amount":12800}'
HEADERS = { 'User-Agent' => 'mall-app/5.1.0 (ruby)' }.freeze

def log(method, url, status)
  File.open(LOG, 'a') { |f| f.puts(JSON.generate({ method: method, url: url, status: status.to_i })) }
end

def on(http, base, request)
  response = http.request(request)
  log(request.method, base + request.path, response.code)
end

uri = URI(BASE)
Net::HTTP.start(uri.host, uri.port) do |http|
  on(http, BASE, Net::HTTP::Get.new('/api/order?ruby=1', HEADERS))
  on(http, BASE, Net::HTTP::Get.new('/api/gzip?ruby=1', HEADERS))
  on(http, BASE, Net::HTTP::Head.new('/api/order?ruby=head', HEADERS))
  post = Net::HTTP::Post.new('/api/echo?ruby=1', HEADERS.merge('Content-Type' => 'application/json'))
  post.body = ECHO
  on(http, BASE, post)
  chunked = Net::HTTP::Post.new('/api/echo?ruby=chunked',
                                HEADERS.merge('Content-Type' => 'application/json', 'Transfer-Encoding' => 'chunked'))
  chunked.body_stream = StringIO.new(ECHO)
  on(http, BASE, chunked)
  on(http, BASE, Net::HTTP::Get.new('/api/trailer?ruby=1', HEADERS))
  on(http, BASE, Net::HTTP::Get.new('/api/fail?ruby=1', HEADERS.merge('Method-Code' => 'FAIL02')))
  on(http, BASE, Net::HTTP::Get.new('/api/errorcode?ruby=1', HEADERS))
end
if NEGOTIATING
  n = URI(NEGOTIATING)
  Net::HTTP.start(n.host, n.port) do |http|
    on(http, NEGOTIATING, Net::HTTP::Get.new('/api/negotiate?ruby=1', HEADERS))
  end
end
url = URI("#{BASE}/api/order?ruby=oneshot")
log('GET', url.to_s, Net::HTTP.get_response(url, HEADERS).code)
