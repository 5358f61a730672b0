-- Tells a page command whether to fetch, skip, or only repeat the job's end.
-- KEYS: job, pending, done, ids, counts, served
-- ARGV: page, marker
local job, finished = KEYS[1], KEYS[3]
local page = ARGV[1]
local stands = standing(job, ARGV[2])
if stands then
  return {stands}
end
if redis.call('SISMEMBER', finished, page) == 1 then
  return done_status(job, page)
end
if redis.call('HEXISTS', job, 'stop') == 1 then
  return {'skip'}
end
local last = redis.call('HGET', job, 'end')
if last and tonumber(page) > tonumber(last) then
  return {'skip'}
end
-- Whether a read already returned a whole page: then a short page is the end.
if redis.call('HEXISTS', job, 'full') == 1 then
  return {'due', '1'}
end
return {'due', '0'}
