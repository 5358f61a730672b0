-- Records the end of a schedule's run.
-- KEYS[1] the schedule's hash, KEYS[2] the run index.
-- ARGV[1] the job id; ARGV[2] the outcome; ARGV[3] now (unix milliseconds);
-- ARGV[4] records; ARGV[5] the reason, '' for none; ARGV[6] the new resume point,
-- '' to keep the old one.
-- The resume point moves only for the run in flight, and only when nobody reset it
-- while the run went on (the generation it was claimed in is still the schedule's);
-- it is stored with the fingerprint of the definition the run was built from.
-- Returns 1 when recorded, 0 when the job is not the schedule's run in flight.
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'run_job') ~= ARGV[1] then
  return 0
end
local since = redis.call('HGET', KEYS[1], 'run_since') or ''
local claimed_in = redis.call('HGET', KEYS[1], 'run_generation') or '0'
local definition = redis.call('HGET', KEYS[1], 'run_definition') or ''
redis.call('HDEL', KEYS[1],
  'run_job', 'run_command', 'run_since', 'run_claimed', 'run_state', 'run_trigger',
  'run_generation', 'run_definition')
redis.call('HSET', KEYS[1],
  'last_job', ARGV[1], 'last_outcome', ARGV[2], 'last_finished', ARGV[3],
  'last_records', ARGV[4], 'last_reason', ARGV[5], 'last_since', since)
if ARGV[2] == 'completed' then
  redis.call('HSET', KEYS[1], 'last_success', ARGV[3])
end
local generation = redis.call('HGET', KEYS[1], 'generation') or '0'
if ARGV[6] ~= '' and generation == claimed_in then
  redis.call('HSET', KEYS[1], 'resume_point', ARGV[6], 'resume_definition', definition)
end
return 1
