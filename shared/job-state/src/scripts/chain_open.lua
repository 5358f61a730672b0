-- Opens a cursor chain, or reopens it when its start command is delivered again.
-- KEYS: job
-- ARGV: started_at, ttl_seconds
-- Returns the start time first recorded: the marker every page command carries.
local job = KEYS[1]
redis.call('HSETNX', job, 'started', ARGV[1])
redis.call('HSETNX', job, 'head', 0)
redis.call('EXPIRE', job, ARGV[2])
return redis.call('HGET', job, 'started')
