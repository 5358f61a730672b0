-- Records one page as done, once, and says whether that ended the job.
-- Every page command that was issued is in `pending` until it finishes; the job
-- ends when its end is known (a short page, a stop or the page limit) and
-- `pending` is empty. `completer` is set exactly once, by the page that ends it.
--
-- A job that failed, or whose state is gone, records nothing: 'failed' or 'lost'.
--
-- KEYS: job, pending, done, ids, counts, served
-- ARGV: 1 page, 2 'fetched'|'skipped', 3 records published, 4 records served,
--       5 tombstones, 6 short '1'|'0', 7 oversized '1'|'0', 8 next page or '',
--       9 first record id ('' when the page was empty), 10 overlap record id or '',
--       11 fingerprint or '', 12 page limit reached '1'|'0', 13 ttl seconds,
--       14 marker, 15.. record ids published
-- Returns 'completed' when this page completed the job (or did before), 'open'
-- otherwise, or the job's standing.
local job, pending, done, ids, counts, served = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local page = ARGV[1]
local p = tonumber(page)

local function expire_all()
  for i = 1, #KEYS do
    redis.call('EXPIRE', KEYS[i], ARGV[13])
  end
end

local stands = standing(job, ARGV[14])
if stands then
  return stands
end

if redis.call('SISMEMBER', done, page) == 1 then
  if redis.call('HGET', job, 'completer') == page then
    return 'completed'
  end
  return 'open'
end

if ARGV[8] ~= '' and redis.call('SISMEMBER', done, ARGV[8]) == 0 then
  redis.call('SADD', pending, ARGV[8])
end
redis.call('SREM', pending, page)
redis.call('SADD', done, page)

if ARGV[2] == 'fetched' then
  local published = tonumber(ARGV[3])
  if published > 0 then
    redis.call('HINCRBY', job, 'pages', 1)
    redis.call('HINCRBY', job, 'records', published)
    redis.call('HINCRBY', job, 'tombstones', tonumber(ARGV[5]))
    redis.call('HSET', counts, page, published)
  end
  redis.call('HSET', served, page, ARGV[4])
  if ARGV[6] == '1' then
    local last = redis.call('HGET', job, 'end')
    if not last or tonumber(last) > p then
      redis.call('HSET', job, 'end', page)
    end
  else
    redis.call('HSET', job, 'full', '1')
  end
  if ARGV[7] == '1' then
    redis.call('HINCRBY', job, 'oversized', 1)
  end
  if ARGV[12] == '1' then
    redis.call('HSET', job, 'truncated', '1')
  end
  for i = 15, #ARGV do
    local seen = redis.call('HGET', ids, ARGV[i])
    if not seen then
      redis.call('HSET', ids, ARGV[i], page)
    elseif seen ~= page then
      redis.call('HINCRBY', job, 'duplicates', 1)
    end
  end
  -- The overlap record of page p must be the first record of page p + 1. Each
  -- boundary is checked once, by whichever of its two pages finishes second.
  redis.call('HSET', job, 'first:' .. page, ARGV[9])
  local before = redis.call('HGET', job, 'overlap:' .. (p - 1))
  if before and before ~= ARGV[9] then
    redis.call('HINCRBY', job, 'shifted', 1)
  end
  if ARGV[10] ~= '' then
    redis.call('HSET', job, 'overlap:' .. page, ARGV[10])
    local after = redis.call('HGET', job, 'first:' .. (p + 1))
    if after and after ~= ARGV[10] then
      redis.call('HINCRBY', job, 'shifted', 1)
    end
  end
  if ARGV[11] ~= '' then
    redis.call('HSET', job, 'fingerprint:' .. page, ARGV[11])
    for _, neighbour in ipairs({p - 1, p + 1}) do
      if redis.call('HGET', job, 'fingerprint:' .. neighbour) == ARGV[11] then
        redis.call('HINCRBY', job, 'repeated', 1)
        redis.call('HSETNX', job, 'stop', 'repeated_page')
      end
    end
  end
end

local ending = redis.call('HEXISTS', job, 'end') == 1
  or redis.call('HEXISTS', job, 'stop') == 1
  or redis.call('HEXISTS', job, 'truncated') == 1
local completes = false
if ending and redis.call('SCARD', pending) == 0 then
  completes = redis.call('HSETNX', job, 'completer', page) == 1
end
if completes then
  local last = redis.call('HGET', job, 'end')
  local past = 0
  if last then
    for _, counted in ipairs(redis.call('HKEYS', counts)) do
      if tonumber(counted) > tonumber(last) then
        past = past + 1
      end
    end
  end
  redis.call('HSET', job, 'past_end', past)
end
expire_all()
if completes then
  return 'completed'
end
return 'open'
