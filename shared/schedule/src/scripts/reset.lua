-- Forgets a schedule's resume point, and makes sure no run in flight sets it again:
-- the generation moves on, and a run claimed in an earlier one does not move it.
-- KEYS[1] the schedule's hash. Returns 1 when there was a resume point, else 0.
local had = redis.call('HDEL', KEYS[1], 'resume_point', 'resume_definition')
redis.call('HINCRBY', KEYS[1], 'generation', 1)
if had > 0 then
  return 1
end
return 0
