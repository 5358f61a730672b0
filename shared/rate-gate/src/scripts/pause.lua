-- Pauses a connection: every gate of it waits until the key expires. A shorter pause
-- never cuts a longer one short.
-- KEYS: pause
-- ARGV: milliseconds
-- Returns the milliseconds the pause still lasts.
local wait = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < wait then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return redis.call('PTTL', KEYS[1])
