-- Opens a job, or reopens it when its start command is delivered again.
-- KEYS: job, pending, done, ids, counts
-- ARGV: started_at, ttl_seconds, page...
local job, pending, done = KEYS[1], KEYS[2], KEYS[3]
redis.call('HSETNX', job, 'started', ARGV[1])
for i = 3, #ARGV do
  if redis.call('SISMEMBER', done, ARGV[i]) == 0 then
    redis.call('SADD', pending, ARGV[i])
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return redis.call('HGET', job, 'started')
