-- Tells a page of a cursor chain whether to read, or only acknowledge: `head` is the
-- first page whose successor is not yet known to be confirmed, so every page below
-- it is done.
-- KEYS: job
-- ARGV: page, marker
local job = KEYS[1]
local stands = standing(job, ARGV[2])
if stands then
  return {stands}
end
if tonumber(ARGV[1]) < tonumber(redis.call('HGET', job, 'head')) then
  return done_status(job, ARGV[1])
end
return {'due'}
