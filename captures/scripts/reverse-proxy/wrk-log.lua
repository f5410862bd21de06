-- wrk script for make-reverse-proxy-fixture.sh: GET args[2] on every connection, one request per
-- 200 ms per connection (a small capture), each response's status written to args[1].THREAD.
local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("id", threads)
end
function init(args)
   out = io.open(args[1] .. "." .. id, "w")
   path = args[2]
end
function request()
   return wrk.format("GET", path)
end
function delay()
   return 200
end
function response(status, headers, body)
   out:write(status, " ", path, "\n")
   out:flush()
end
