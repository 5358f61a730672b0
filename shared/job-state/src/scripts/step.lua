-- Prepended to every script that acts on a job for one of its page or chunk commands
-- (a step): what they all need to know about the job.

-- Where the job stands for a step carrying `marker`, the start time the job was
-- opened with: 'failed' once the job has failed, 'lost' when its state is missing
-- or belongs to another opening (the store lost its data, or the state expired),
-- and nil when the step may go on.
local function standing(job, marker)
  if redis.call('HEXISTS', job, 'failed') == 1 then
    return 'failed'
  end
  if redis.call('HGET', job, 'started') ~= marker then
    return 'lost'
  end
  return nil
end

-- The status of a step finished before: 'done', with 'completer' when that step
-- completed the job (its redelivery must publish the completion again).
local function done_status(job, step)
  if redis.call('HGET', job, 'completer') == step then
    return {'done', 'completer'}
  end
  return {'done'}
end

