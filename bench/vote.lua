-- wrk script for bench/votes.py: every request is a JSON vote by a new, distinct voter.
--
--   wrk -c 64 -t 2 -d <measure + drain>s --latency -s bench/vote.lua http://127.0.0.1:PORT \
--       -- <poll code> <csrftoken> <voter prefix> <option id>[,...] <stop at, epoch ms>
--
-- Voter tokens are built from the prefix, the thread number and a per-thread counter, so
-- no two requests of a run share a voter (tokens match ^[A-Za-z0-9_-]{32,64}$).
--
-- wrk abandons the requests in flight when its duration ends, and the server may still
-- count them; so no request is sent after "stop at", and wrk runs a few seconds longer to
-- collect the answers in flight ("drain"). Each thread prints "BENCH_DRAINED" once it has
-- every answer, so votes.py can end wrk early. Rates use only answers received before
-- "stop at" (full concurrency); status counts use every answer. done() prints one line,
-- "BENCH_RESULT {json}", for votes.py to read.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local timespec = ffi.new("bench_timespec")

local function now_ms()
   ffi.C.clock_gettime(0, timespec) -- CLOCK_REALTIME, comparable with votes.py's clock
   return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

function init(args)
   code = args[1]
   csrf = args[2]
   prefix = args[3]
   options = {}
   for option in string.gmatch(args[4], "[^,]+") do
      table.insert(options, option)
   end
   stop_at = tonumber(args[5])
   path = "/poll/" .. code .. "/vote"
   cookie_tail = "; csrftoken=" .. csrf
   headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["X-CSRFToken"] = csrf,
   }
   -- wrk calls request() once in the first thread's state to check the script before any
   -- connection exists; that request is never sent, so it must not count as sent.
   sent = (id == 1) and -1 or 0
   counter = 0
   answered = 0
   accepted_in_window = 0
   answered_in_window = 0
   first_ms = 0
   stopped = false
   drained = false
   statuses = {}
end

function delay()
   if stopped or now_ms() >= stop_at then
      stopped = true
      if answered == sent and not drained then
         drained = true
         io.write("BENCH_DRAINED " .. id .. "\n")
         io.flush()
      end
      return 3600000 -- never send again in this run
   end
   return 0
end

function request()
   sent = sent + 1
   counter = counter + 1
   if first_ms == 0 and sent > 0 then
      first_ms = now_ms()
   end
   local voter = string.format("%s%02d%024d", prefix, id, counter)
   headers["Cookie"] = "tally_voter=" .. voter .. cookie_tail
   local body = '{"option": ' .. options[(counter % #options) + 1] .. "}"
   return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
   answered = answered + 1
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if not stopped and now_ms() < stop_at then
      answered_in_window = answered_in_window + 1
      if status == 201 then
         accepted_in_window = accepted_in_window + 1
      end
   elseif answered == sent and not drained then
      drained = true
      io.write("BENCH_DRAINED " .. id .. "\n")
      io.flush()
   end
end

function done(summary, latency, requests)
   local total = {}
   local sent_all, answered_all, accepted_window, answered_window = 0, 0, 0, 0
   local first = nil
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
      sent_all = sent_all + thread:get("sent")
      answered_all = answered_all + thread:get("answered")
      accepted_window = accepted_window + thread:get("accepted_in_window")
      answered_window = answered_window + thread:get("answered_in_window")
      local thread_first = thread:get("first_ms")
      if thread_first > 0 and (first == nil or thread_first < first) then
         first = thread_first
      end
      stop_at = thread:get("stop_at")
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format('"%s": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"window_ms": %.1f, "sent": %d, "answered": %d, '
         .. '"accepted_in_window": %d, "answered_in_window": %d, '
         .. '"duration_us": %d, "requests": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, '
         .. '"statuses": {%s}}\n',
      first and (stop_at - first) or 0, sent_all, answered_all, accepted_window, answered_window,
      summary.duration, summary.requests, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max,
      table.concat(parts, ", ")
   ))
end
