-- Argo CD health check of customerspace.io/CloudContract (ccs-operator), Lua 5.1.
-- Reads the kstatus conditions the operator sets beside Ready:
--   customerspace.io/paused: "true"             -> Suspended (the operator leaves it alone)
--   not observed yet, or an older generation    -> Progressing
--   Stalled=True (a change is needed)           -> Degraded, with the reason
--   Reconciling=True (work in progress)         -> Progressing, with the reason
--   Ready=True                                  -> Healthy
--   Ready=False without the above               -> Degraded
local hs = {}
local function condition(status, kind)
  if type(status) ~= "table" or type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end
local function say(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local meta = obj.metadata or {}
if type(meta.annotations) == "table" and meta.annotations["customerspace.io/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Paused (customerspace.io/paused): the operator does not reconcile it"
  return hs
end
local status = obj.status
if type(status) ~= "table" or type(status.conditions) ~= "table" or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the CloudContract"
  return hs
end
if status.observedGeneration ~= nil and meta.generation ~= nil and status.observedGeneration < meta.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. meta.generation
  return hs
end
local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = say(stalled)
  return hs
end
local reconciling = condition(status, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = say(reconciling)
  return hs
end
local ready = condition(status, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = say(ready)
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the operator to reconcile the CloudContract"
return hs
