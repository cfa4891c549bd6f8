-- wrk: checkout as fast as possible, each request with its own
-- Idempotency-Key; every placed order's id goes to IDS_FILE for the
-- transitions run. One wrk thread (-t1): the ids go to one file.
local token = os.getenv("TOKEN")
local out = io.open(os.getenv("IDS_FILE"), "w")
local n = 0
local body = '{"customer_id":"cus_1","currency":"CAD","fulfilment":"pickup",' ..
  '"items":[{"sku":"MUG","name":"Blue mug","unit_price":1299,"quantity":2}],"contact":{"email":"a@example.com"}}'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = "k-" .. n
  return wrk.format(nil, "/orders", nil, body)
end
response = function(status, headers, body)
  if status ~= 201 then return end
  local id = body:match('"id":"(ord_[%w]+)"')
  if id then out:write(id, "\n") out:flush() end
end
