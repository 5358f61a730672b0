-- Records one chunk's result, once, and says whether that ended the job: the chunk
-- that empties `pending` becomes the job's `completer`, exactly once. A job that
-- failed, or whose state is gone, records nothing.
-- KEYS: job, pending, done
-- ARGV: chunk, result, ttl_seconds, marker
-- Returns 'completed' when this chunk completed the job (or did before), 'open'
-- otherwise, or the job's standing.
local job, pending, done = KEYS[1], KEYS[2], KEYS[3]
local chunk = ARGV[1]
local stands = standing(job, ARGV[4])
if stands then
  return stands
end
if redis.call('SISMEMBER', done, chunk) == 0 then
  redis.call('HSET', job, 'result:' .. chunk, ARGV[2])
  redis.call('SREM', pending, chunk)
  redis.call('SADD', done, chunk)
  if redis.call('SCARD', pending) == 0 then
    redis.call('HSETNX', job, 'completer', chunk)
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
if redis.call('HGET', job, 'completer') == chunk then
  return 'completed'
end
return 'open'
