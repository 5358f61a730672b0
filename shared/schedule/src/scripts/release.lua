-- Gives the publishers' lease back, if the replica asking holds it.
-- KEYS[1] the lease; ARGV[1] the replica asking.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
