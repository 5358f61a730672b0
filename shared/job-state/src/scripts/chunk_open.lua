-- Opens a chunked job, or reopens it when its start command is delivered again.
-- KEYS: job, pending, done
-- ARGV: started_at, ttl_seconds, chunk count
-- Returns the start time first recorded: the marker every chunk command carries.
local job, pending, done = KEYS[1], KEYS[2], KEYS[3]
redis.call('HSETNX', job, 'started', ARGV[1])
if redis.call('HSETNX', job, 'chunks', ARGV[3]) == 1 then
  for chunk = 0, tonumber(ARGV[3]) - 1 do
    redis.call('SADD', pending, chunk)
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return redis.call('HGET', job, 'started')
