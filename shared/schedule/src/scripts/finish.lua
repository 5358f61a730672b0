-- Records the end of a schedule's run.
-- KEYS[1] the schedule's hash, KEYS[2] the run index.
-- ARGV[1] the job id; ARGV[2] the outcome; ARGV[3] now (unix milliseconds);
-- ARGV[4] records; ARGV[5] the reason, '' for none; ARGV[6] the new resume point,
-- '' to keep the old one.
-- The resume point moves only for the run in flight, and only when nobody reset it
-- while the run went on (it still equals the run's starting point).
-- Returns 1 when recorded, 0 when the job is not the schedule's run in flight.
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'run_job') ~= ARGV[1] then
  return 0
end
local since = redis.call('HGET', KEYS[1], 'run_since') or ''
redis.call('HDEL', KEYS[1],
  'run_job', 'run_command', 'run_since', 'run_claimed', 'run_state', 'run_trigger')
redis.call('HSET', KEYS[1],
  'last_job', ARGV[1], 'last_outcome', ARGV[2], 'last_finished', ARGV[3],
  'last_records', ARGV[4], 'last_reason', ARGV[5], 'last_since', since)
if ARGV[6] ~= '' and (redis.call('HGET', KEYS[1], 'resume_point') or '') == since then
  redis.call('HSET', KEYS[1], 'resume_point', ARGV[6], 'last_success', ARGV[3])
end
return 1
