-- Tells a chunk command whether to write, or only repeat what it reported.
-- KEYS: job, pending, done
-- ARGV: chunk, marker
local job, done = KEYS[1], KEYS[3]
local stands = standing(job, ARGV[2])
if stands then
  return {stands}
end
if redis.call('SISMEMBER', done, ARGV[1]) == 1 then
  if redis.call('HGET', job, 'completer') == ARGV[1] then
    return {'done', 'completer'}
  end
  return {'done'}
end
return {'due'}
