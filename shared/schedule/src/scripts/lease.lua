-- Takes the publishers' lease when nobody holds it, or renews it for its holder.
-- KEYS[1] the lease; ARGV[1] the replica asking; ARGV[2] its lifetime (ms).
-- Returns 1 when the replica holds the lease now, 0 otherwise.
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
