# The stack routes (see stack_wsgi.py) on Ruby's WEBrick (Debian's ruby-webrick), for
# make-stack-fixtures.sh --debian:  ruby stack_webrick.rb PORT
# WEBrick closes an idle connection after RequestTimeout (30 s, left so: KeepAliveTimeout does not
# close it; with RequestTimeout 1 Java's client, waiting for a 100 Continue that never comes, did not
# notice the close and hung past its own request timeout), and frames a body of unknown length
# (`chunked = true`) as chunked for HTTP/1.1 clients, close-delimited for HTTP/1.0 ones.
require "webrick"
require "json"
require "zlib"
require "stringio"

def payload(n)
  out = +""
  i = 0
  while out.bytesize < n
    out << format("line %06d: the quick brown fox jumps over the lazy dog\n", i)
    i += 1
  end
  out[0, n]
end

def json(res, status, obj)
  res.status = status
  res["Content-Type"] = "application/json"
  res.body = JSON.generate(obj)
end

server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: Integer(ARGV[0]), KeepAliveTimeout: 1,
                                 AccessLog: [], Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN))
server.mount_proc("/api/") do |req, res|
  q = req.query
  case req.path
  when "/api/order" then json(res, 200, { code: "0000", msg: "ok", orderId: "ORD000000012345" })
  when "/api/fail" then json(res, 500, { code: "E5001", msg: "upstream failed" })
  when "/api/stream"
    res["Content-Type"] = "application/x-ndjson"
    res.chunked = true
    n = Integer(q["n"] || "4")
    res.body = proc { |out| n.times { |i| out.write(JSON.generate({ part: i }) + "\n"); sleep 0.02 } }
  when "/api/large"
    res["Content-Type"] = "text/plain"
    res.body = payload(Integer(q["bytes"] || "65536"))
  when "/api/nocontent" then res.status = 204
  when "/api/etag"
    res["ETag"] = '"v1"'
    if req["If-None-Match"] == '"v1"'
      res.status = 304
    else
      res["Content-Type"] = "application/json"
      res.body = '{"code":"0000","v":1}'
    end
  when "/api/echo"
    res["Content-Type"] = req.content_type || "application/octet-stream"
    res.body = req.body || ""
  when "/api/gzip"
    z = StringIO.new
    gz = Zlib::GzipWriter.new(z)
    gz.mtime = 1
    gz.write(JSON.generate({ code: "0000", items: (0...200).map { |i| { id: i, name: "item #{i}" } } }))
    gz.close
    res["Content-Type"] = "application/json"
    res["Content-Encoding"] = "gzip"
    res.body = z.string
  else json(res, 404, { code: "E404", msg: "no route" })
  end
end
trap("TERM") { server.shutdown }
server.start
