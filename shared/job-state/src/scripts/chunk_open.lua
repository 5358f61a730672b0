-- Opens a chunked job, or reopens it when its start command is delivered again.
-- KEYS: job, pending, done
-- ARGV: ttl_seconds, chunk count
local job, pending, done = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HSETNX', job, 'chunks', ARGV[2]) == 1 then
  for chunk = 0, tonumber(ARGV[2]) - 1 do
    redis.call('SADD', pending, chunk)
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return tonumber(redis.call('HGET', job, 'chunks'))
