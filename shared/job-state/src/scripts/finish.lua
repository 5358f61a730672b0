-- Records one page as done, once, and says whether that ended the job.
-- Every page command that was issued is in `pending` until it finishes; the job
-- ends when its end is known (a short page, a stop or the page limit) and
-- `pending` is empty. `completer` is set exactly once, by the page that ends it.
--
-- A job that failed, or whose state is gone, records nothing: 'failed' or 'lost'.
--
-- KEYS: job, pending, done, ids, counts
-- ARGV: 1 page, 2 'fetched'|'skipped', 3 records published, 4 tombstones,
--       5 short '1'|'0', 6 oversized '1'|'0', 7 next page or '',
--       8 first record id ('' when the page was empty), 9 overlap record id or '',
--       10 fingerprint or '', 11 page limit reached '1'|'0', 12 ttl seconds,
--       13 marker, 14.. record ids published
-- Returns 'completed' when this page completed the job (or did before), 'open'
-- otherwise, or the job's standing.
local job, pending, done, ids, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local page = ARGV[1]
local p = tonumber(page)

local stands = standing(job, ARGV[13])
if stands then
  return stands
end

local function expire_all()
  for i = 1, #KEYS do
    redis.call('EXPIRE', KEYS[i], ARGV[12])
  end
end

if redis.call('SISMEMBER', done, page) == 1 then
  if redis.call('HGET', job, 'completer') == page then
    return 'completed'
  end
  return 'open'
end

if ARGV[7] ~= '' and redis.call('SISMEMBER', done, ARGV[7]) == 0 then
  redis.call('SADD', pending, ARGV[7])
end
redis.call('SREM', pending, page)
redis.call('SADD', done, page)

if ARGV[2] == 'fetched' then
  local published = tonumber(ARGV[3])
  if published > 0 then
    redis.call('HINCRBY', job, 'pages', 1)
    redis.call('HINCRBY', job, 'records', published)
    redis.call('HINCRBY', job, 'tombstones', tonumber(ARGV[4]))
    redis.call('HSET', counts, page, published)
  end
  if ARGV[5] == '1' then
    local last = redis.call('HGET', job, 'end')
    if not last or tonumber(last) > p then
      redis.call('HSET', job, 'end', page)
    end
  end
  if ARGV[6] == '1' then
    redis.call('HINCRBY', job, 'oversized', 1)
  end
  if ARGV[11] == '1' then
    redis.call('HSET', job, 'truncated', '1')
  end
  for i = 14, #ARGV do
    local seen = redis.call('HGET', ids, ARGV[i])
    if not seen then
      redis.call('HSET', ids, ARGV[i], page)
    elseif seen ~= page then
      redis.call('HINCRBY', job, 'duplicates', 1)
    end
  end
  -- The overlap record of page p must be the first record of page p + 1. Each
  -- boundary is checked once, by whichever of its two pages finishes second.
  redis.call('HSET', job, 'first:' .. page, ARGV[8])
  local before = redis.call('HGET', job, 'overlap:' .. (p - 1))
  if before and before ~= ARGV[8] then
    redis.call('HINCRBY', job, 'shifted', 1)
  end
  if ARGV[9] ~= '' then
    redis.call('HSET', job, 'overlap:' .. page, ARGV[9])
    local after = redis.call('HGET', job, 'first:' .. (p + 1))
    if after and after ~= ARGV[9] then
      redis.call('HINCRBY', job, 'shifted', 1)
    end
  end
  if ARGV[10] ~= '' then
    redis.call('HSET', job, 'fingerprint:' .. page, ARGV[10])
    for _, neighbour in ipairs({p - 1, p + 1}) do
      if redis.call('HGET', job, 'fingerprint:' .. neighbour) == ARGV[10] then
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
