-- Tells a chunk command whether to write, or only repeat what it reported.
-- KEYS: job, pending, done
-- ARGV: chunk, marker
local job, finished = KEYS[1], KEYS[3]
local stands = standing(job, ARGV[2])
if stands then
  return {stands}
end
if redis.call('SISMEMBER', finished, ARGV[1]) == 1 then
  return done_status(job, ARGV[1])
end
return {'due'}
