-- ingest_bench.lua: the wrk script of tests/bench/ingest_bench.sh.
--
-- Every request is POST /v1/events with one batch of BATCH (default 100)
-- events spread over five services, 2% of them errors, each with a
-- timestamp (taken when wrk starts) like a real SDK sends. The SDK Key comes
-- from CUPD_SDK_KEY. At the end it prints one machine-readable line:
--   RESULT requests=N non2xx=N socket_errors=N seconds=S p99_ms=X
local key = os.getenv("CUPD_SDK_KEY") or error("CUPD_SDK_KEY is not set")
local batch = tonumber(os.getenv("BATCH") or "100")
local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
local services = { "stripe", "aws-s3", "github", "twilio", "sendgrid" }

local events = {}
for i = 1, batch do
	events[i] = string.format(
		'{"service":"%s","operation":"op.%d","outcome":"%s","latency_ms":%d,"timestamp":"%s"}',
		services[(i % #services) + 1], i % 7, (i % 50 == 0) and "error" or "ok", 20 + i % 300, ts)
end

wrk.method = "POST"
wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT requests=%d non2xx=%d socket_errors=%d seconds=%.3f p99_ms=%.2f\n",
		summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
		summary.duration / 1e6, latency:percentile(99) / 1000))
end
