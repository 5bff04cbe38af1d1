-- wrk script for bench/server/run_wrk.sh: POSTs one fixed judgement request to
-- /v1/judgements and prints machine-readable results ("augur_bench <key> <value>") at the end.
--
-- Environment: AUGUR_BENCH_BODY = file with the request body (required);
--              AUGUR_TOKEN      = bearer token, if the server was started with one.
--
-- wrk runs this file once per thread (plus once in the main interpreter for setup/done), each in
-- its own Lua state; setup() keeps the thread handles so that done() can read the per-thread
-- counters of non-2xx responses.

local body_path = os.getenv("AUGUR_BENCH_BODY")
if body_path == nil or body_path == "" then
  error("AUGUR_BENCH_BODY is not set (the file holding the request body)")
end
local f = io.open(body_path, "rb")
if f == nil then error("cannot open AUGUR_BENCH_BODY file " .. body_path) end
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("AUGUR_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Main interpreter: one handle per thread.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Thread interpreters: counters read by done() through thread:get().
non2xx = 0
first_bad = ""
function response(status, headers, resp_body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(resp_body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local fb = t:get("first_bad")
    if first == "" and fb ~= nil and fb ~= "" then first = fb end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local function ms(us) return us / 1000.0 end
  io.write(string.format("augur_bench requests %d\n", summary.requests))
  io.write(string.format("augur_bench duration_s %.3f\n", seconds))
  io.write(string.format("augur_bench judgements_per_s %.1f\n", summary.requests / seconds))
  io.write(string.format("augur_bench latency_mean_ms %.2f\n", ms(latency.mean)))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("augur_bench latency_p%s_ms %.2f\n", tostring(p),
                           ms(latency:percentile(p))))
  end
  io.write(string.format("augur_bench latency_max_ms %.2f\n", ms(latency.max)))
  io.write(string.format("augur_bench non2xx %d\n", bad))
  io.write(string.format("augur_bench socket_errors %d\n",
                         e.connect + e.read + e.write + e.timeout))
  if first ~= "" then
    io.write("augur_bench first_non2xx " .. string.gsub(first, "\n", " ") .. "\n")
  end
end
