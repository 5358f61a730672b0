-- Marks a job as failed for good, once. Works whatever is left of the job's state:
-- after a loss the hash holds only this mark, which every later command reads.
-- KEYS: job
-- ARGV: reason, ttl_seconds
-- Returns 1 when this call failed the job, 0 when it had failed before.
local first = redis.call('HSETNX', KEYS[1], 'failed', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return first
