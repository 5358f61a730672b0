-- Marks a claimed run as published, once the broker confirmed its command.
-- KEYS[1] the schedule's hash; ARGV[1] the job id.
if redis.call('HGET', KEYS[1], 'run_job') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'run_state', 'published')
  return 1
end
return 0
