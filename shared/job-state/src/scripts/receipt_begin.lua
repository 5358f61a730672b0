-- Starts an attempt at a side effect that has no natural idempotence.
-- KEYS: receipt
-- ARGV: now (RFC 3339), ttl_seconds
-- Returns {'recorded', receipt} when the effect was recorded before, otherwise
-- {'first', now} the first time and {'again', first attempt} afterwards.
local key = KEYS[1]
local receipt = redis.call('HGET', key, 'receipt')
if receipt then
  return {'recorded', receipt}
end
local first = redis.call('HSETNX', key, 'first_attempt', ARGV[1])
redis.call('EXPIRE', key, ARGV[2])
if first == 1 then
  return {'first', ARGV[1]}
end
return {'again', redis.call('HGET', key, 'first_attempt')}
