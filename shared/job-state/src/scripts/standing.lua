-- Prepended to every script that acts on a job for one of its page or chunk commands.
-- Where the job stands for a command carrying `marker`, the start time the job was
-- opened with: 'failed' once the job has failed, 'lost' when its state is missing
-- or belongs to another opening (the store lost its data, or the state expired),
-- and nil when the command may go on.
local function standing(job, marker)
  if redis.call('HEXISTS', job, 'failed') == 1 then
    return 'failed'
  end
  if redis.call('HGET', job, 'started') ~= marker then
    return 'lost'
  end
  return nil
end

