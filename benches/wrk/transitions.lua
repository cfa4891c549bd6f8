-- wrk: pickup orders walked pending -> accepted -> in_progress -> ready -> completed.
-- Request k moves order k mod N to stage k div N + 1, so with N far above the
-- connection count no two requests for one order are in flight together.
-- One wrk thread (-t1). `done` prints one `@wrk` line for scripts/bench-http.sh:
-- transitions answered 2xx, anything else, and whether the orders ran out
-- (then the rest of the run asked /healthz, and the figure is not a
-- transitions figure).
local token = os.getenv("TOKEN")
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local stages = {"accepted", "in_progress", "ready", "completed"}
local N = #ids
k = 0
ok = 0
other = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
-- wrk calls `request` once before the run to check what it returns, and
-- throws that request away: that call must not use up order 0's first move.
local checked = false
request = function()
  if not checked then
    checked = true
    return wrk.format("GET", "/healthz")
  end
  local i = k % N
  local s = math.floor(k / N) + 1
  k = k + 1
  if s > #stages then return wrk.format("GET", "/healthz") end
  return wrk.format(nil, "/orders/" .. ids[i + 1] .. "/transitions", nil, '{"to":"' .. stages[s] .. '"}')
end
refused = ""
response = function(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 return end
  other = other + 1
  if other <= 3 then refused = refused .. status .. " " .. body:sub(1, 200) .. "\n" end
end

-- `done` runs in wrk's main Lua state: the counters live in the thread's.
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary, latency)
  local t = threads[1]
  io.write(string.format("@wrk ok=%d other=%d issued=%d needed=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f\n",
    t:get("ok"), t:get("other"), t:get("k"), N * #stages, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
  io.write(t:get("refused"))
end
