-- Claims a run of one schedule, or records why not.
-- KEYS[1] the schedule's hash, KEYS[2] the run index (job id -> schedule name),
-- KEYS[3] the publishers' lease.
-- ARGV[1] the lease holder claiming, '' for a run asked for by a person (no lease);
-- ARGV[2] the due time (unix seconds) the run is for, '' for a run asked for now;
-- ARGV[3] the run's job id; ARGV[4] its command; ARGV[5] the resume point it starts
-- from, '' for none; ARGV[6] now (unix milliseconds); ARGV[7] the schedule's name;
-- ARGV[8] the generation the caller read (see reset.lua); ARGV[9] the fingerprint of
-- the schedule's definition the command was built from.
-- Returns 'claimed', 'skipped' (a due time passed while a run is in flight),
-- 'running' (asked for now while one is in flight), 'done' (this due time was
-- handled already), 'moved' (a reset since the caller read the state) or
-- 'not_leader'.
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return 'not_leader'
end
local slot = ARGV[2]
if slot ~= '' then
  local last = redis.call('HGET', KEYS[1], 'last_slot')
  if last and tonumber(last) >= tonumber(slot) then
    return 'done'
  end
end
if redis.call('HEXISTS', KEYS[1], 'run_job') == 1 then
  if slot == '' then
    return 'running'
  end
  redis.call('HSET', KEYS[1], 'last_slot', slot, 'last_skip', ARGV[6])
  redis.call('HINCRBY', KEYS[1], 'skips', 1)
  return 'skipped'
end
local generation = redis.call('HGET', KEYS[1], 'generation') or '0'
if generation ~= ARGV[8] then
  return 'moved'
end
local trigger = 'manual'
if slot ~= '' then
  trigger = 'tick'
  redis.call('HSET', KEYS[1], 'last_slot', slot)
end
redis.call('HSET', KEYS[1],
  'run_job', ARGV[3], 'run_command', ARGV[4], 'run_since', ARGV[5],
  'run_claimed', ARGV[6], 'run_state', 'claimed', 'run_trigger', trigger,
  'run_generation', generation, 'run_definition', ARGV[9])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[7])
return 'claimed'
