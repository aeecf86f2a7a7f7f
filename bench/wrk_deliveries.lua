-- wrk script: POST signed webhook deliveries in turn, each with a fresh X-GitHub-Delivery id.
-- wrk -s bench/wrk_deliveries.lua URL -- DELIVERIES.tsv LABEL   (event, signature, body per line)
local threads = {}
local counter = 0

function setup(thread)
  thread:set("number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  deliveries = {}
  label = args[2] or "wrk"
  for line in io.lines(args[1]) do
    local event, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    table.insert(deliveries, { event = event, signature = signature, body = body })
  end
end

function request()
  counter = counter + 1
  local d = deliveries[(counter - 1) % #deliveries + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = d.event,
    ["X-GitHub-Delivery"] = label .. "-" .. number .. "-" .. counter,
    ["X-Hub-Signature-256"] = d.signature,
  }
  return wrk.format("POST", nil, headers, d.body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
