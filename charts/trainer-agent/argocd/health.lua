-- Argo CD health check for traineragent.io/TrainingRequest (kstatus conditions).
-- Install under resource.customizations.health.traineragent.io_TrainingRequest in argocd-cm.
local hs = {}
local function done(status, message)
  hs.status = status
  hs.message = message
  return hs
end
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  return done("Progressing", "Deleting")
end
if obj.status == nil or obj.status.conditions == nil then
  return done("Progressing", "Waiting for the operator to pick up the request")
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  return done("Progressing", "Waiting for the operator to observe generation " .. tostring(generation))
end
local conditions = {}
for _, c in ipairs(obj.status.conditions) do
  conditions[c.type] = c
end
local function isTrue(t)
  return conditions[t] ~= nil and conditions[t].status == "True"
end
local function messageOf(t)
  local c = conditions[t]
  local text = c.message
  if text == nil or text == "" then text = c.reason or t end
  return text
end
if isTrue("Stalled") then
  return done("Degraded", messageOf("Stalled"))
end
if isTrue("Ready") then
  return done("Healthy", messageOf("Ready"))
end
if isTrue("Reconciling") then
  return done("Progressing", messageOf("Reconciling"))
end
if isTrue("AwaitingInput") then
  local text = obj.status.question
  if text == nil or text == "" then text = messageOf("AwaitingInput") end
  return done("Suspended", text)
end
return done("Progressing", "Waiting for the operator")
