-- Opens a job, or reopens it when its start command is delivered again: the first
-- opening is kept.
-- KEYS: job, pending, done, ids, counts, served
-- ARGV: started_at, ttl_seconds, page_size, server_cap or '', full page seen '1'|'0',
--       page...
-- Returns the recorded start and page size.
local job, pending, done = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HSETNX', job, 'started', ARGV[1]) == 1 then
  redis.call('HSET', job, 'page_size', ARGV[3])
  if ARGV[4] ~= '' then
    redis.call('HSET', job, 'server_cap', ARGV[4])
  end
  if ARGV[5] == '1' then
    redis.call('HSET', job, 'full', '1')
  end
end
for i = 6, #ARGV do
  if redis.call('SISMEMBER', done, ARGV[i]) == 0 then
    redis.call('SADD', pending, ARGV[i])
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return {redis.call('HGET', job, 'started'), tonumber(redis.call('HGET', job, 'page_size'))}
