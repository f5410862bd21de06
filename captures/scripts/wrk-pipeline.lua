-- wrk's pipeline example (wrk/scripts/pipeline.lua): three requests in one
-- write, sent again once all three responses are in. Stops after LIMIT
-- responses so each recording holds the same exchanges.
--   wrk -t1 -c1 -d3s -s wrk-pipeline.lua http://127.0.0.1:18080 -- LIMIT
local limit, done = 0, 0

init = function(args)
   limit = tonumber(args[1]) or 0
   local h = {["Host"] = "api.example.com", ["User-Agent"] = "wrk-pipeline/4.1"}
   local r = {}
   r[1] = wrk.format("GET", "/api/v1/order?id=1", h)
   r[2] = wrk.format("POST", "/api/v1/pay?id=2",
      {["Host"] = "api.example.com", ["User-Agent"] = "wrk-pipeline/4.1",
       ["Content-Type"] = "application/json", ["Method-Code"] = "PIPE2"},
      '{"orderId":"ORD000000012345","amount":12800}')
   r[3] = wrk.format("GET", "/api/v1/order/cancel?id=3", h)
   req = table.concat(r)
end

request = function()
   return req
end

response = function(status, headers, body)
   done = done + 1
   if limit > 0 and done >= limit then
      wrk.thread:stop()
   end
end
