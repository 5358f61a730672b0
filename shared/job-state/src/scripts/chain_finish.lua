-- Records that a page of a cursor chain had everything it published confirmed: the
-- chain's head moves past it. The last page also records the completion it
-- published, so that its redelivery repeats that exact message.
-- KEYS: job
-- ARGV: page, marker, completion JSON or '', ttl_seconds
-- Returns 'completed' when this page is the chain's last, 'open' otherwise, or the
-- job's standing.
local job = KEYS[1]
local page = ARGV[1]
local stands = standing(job, ARGV[2])
if stands then
  return stands
end
if tonumber(page) >= tonumber(redis.call('HGET', job, 'head')) then
  redis.call('HSET', job, 'head', tonumber(page) + 1)
end
if ARGV[3] ~= '' then
  redis.call('HSETNX', job, 'completer', page)
  redis.call('HSETNX', job, 'completion', ARGV[3])
end
redis.call('EXPIRE', job, ARGV[4])
if redis.call('HGET', job, 'completer') == page then
  return 'completed'
end
return 'open'
