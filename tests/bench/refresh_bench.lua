-- refresh_bench.lua: wrk script for tests/bench/refresh_bench.sh.
--
-- Each request spends one refresh token and each 200 answer hands back its
-- successor, which goes back into the thread's pool, so every connection
-- walks a real rotation chain (no token is ever presented twice; a repeat
-- or reuse would not be measured). The pool of a thread starts with its
-- share of the tokens in $REFRESH_TOKENS (one per line); with one token
-- more than connections a connection always finds one when it sends (wrk
-- calls request() once more on the first thread, to verify the script, and
-- that token is never sent).
-- Environment: REFRESH_TOKENS, REFRESH_CLIENT_ID, REFRESH_RESOURCE (already
-- form-encoded), REFRESH_THREADS.
local threads = {}
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	pool = {}
	errors = 0
	local nthreads = tonumber(os.getenv("REFRESH_THREADS"))
	local i = 0
	for line in io.lines(os.getenv("REFRESH_TOKENS")) do
		if i % nthreads == id then
			table.insert(pool, line)
		end
		i = i + 1
	end
	prefix = "grant_type=refresh_token&client_id=" .. os.getenv("REFRESH_CLIENT_ID") ..
		"&resource=" .. os.getenv("REFRESH_RESOURCE") .. "&refresh_token="
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
	local t = table.remove(pool) or "cupr_pool_exhausted"
	return wrk.format(nil, "/oauth/token", nil, prefix .. t)
end

function response(status, headers, body)
	local t = body:match('"refresh_token":"(cupr_[%w_%-]+)"')
	if status == 200 and t then
		table.insert(pool, t)
	else
		errors = errors + 1
		if errors == 1 then
			io.stderr:write("first failure: " .. status .. " " .. body .. "\n")
		end
	end
end

function done(summary, latency, requests)
	local errs = 0
	for _, t in ipairs(threads) do
		errs = errs + t:get("errors")
	end
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT requests=%d rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d sockerr=%d\n",
		summary.requests, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, errs,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
