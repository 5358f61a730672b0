-- Asks a connection's shared bucket for one request: a GCRA on Redis' own clock, so
-- the workers' clocks never matter. A pause, set after an upstream's 429, wins.
-- KEYS: rate (the bucket's theoretical arrival time, in µs), pause
-- ARGV: interval (µs the bucket takes to refill one request), burst
-- Returns the µs to wait before asking again; 0 when the request is admitted and counted.
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  return paused * 1000
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local allowed_at = tat - tolerance
if now < allowed_at then
  return allowed_at - now
end
local next_tat = tat + interval
-- '%.0f' keeps every digit: Lua would print the 16-digit number in 14 significant ones.
-- Once the arrival time has passed, the key is worth nothing and expires.
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000) + 1))
return 0
