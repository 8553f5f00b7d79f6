-- Sluice token buckets shared by gateway replicas: the arithmetic of dev.sluice.limit.LocalLimitStore, in Redis.
--
-- A bucket is a hash {d = debt, t = time of that debt (ms), p = period (ms)}, debt in token-milliseconds (one token =
-- p units, refilled at capacity units per ms); no key = a full bucket. Integers stay below 2^53 (checked by the
-- caller), so Lua's doubles hold them exactly; divisions are corrected to exact integer division.
--
-- ARGV[1] "take" | "adjust"; ARGV[2] now in ms, or -1 for Redis's own TIME (so replica clocks do not matter);
-- ARGV[3] overdraft capacities; ARGV[4] idle periods before a bucket expires; then three numbers per key:
--   take:   cost, capacity, period  -- takes every cost if every bucket has it, else nothing;
--                                       returns {allowed, remaining, resetMs, retryAfterMs} per bucket up to the
--                                       first refusal
--   adjust: delta, capacity, period  -- adds delta tokens (negative = refund), clamped as LocalLimitStore.adjust

local now = tonumber(ARGV[2])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local overdraft = tonumber(ARGV[3])
local idle = tonumber(ARGV[4])

-- floor(a / b) for integers a >= 0, b > 0, exact below 2^53
local function idiv(a, b)
  local q = math.floor(a / b)
  while q * b > a do q = q - 1 end
  while (q + 1) * b <= a do q = q + 1 end
  return q
end

local function ceildiv(a, b)
  if a <= 0 then return 0 end
  return idiv(a - 1, b) + 1
end

-- the bucket's debt refilled up to now, capped at the deepest overdraft; and its time (nil = new or other period)
local function state(key, cap, period)
  local s = redis.call('HMGET', key, 'd', 't', 'p')
  if not s[1] or tonumber(s[3]) ~= period then return 0, nil end
  local debt, at = tonumber(s[1]), tonumber(s[2])
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 end
  if elapsed >= ceildiv(debt, cap) then debt = 0 else debt = debt - elapsed * cap end
  return math.min(debt, (1 + overdraft) * cap * period), at
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- a full bucket is no key; time never moves back when callers race
local function store(key, debt, at, period)
  if debt == 0 then
    redis.call('DEL', key)
    return
  end
  if at == nil or at < now then at = now end
  redis.call('HSET', key, 'd', fmt(debt), 't', fmt(at), 'p', fmt(period))
  redis.call('PEXPIRE', key, idle * period)
end

if ARGV[1] == 'take' then
  local out = {}
  local pending = {}
  for i = 1, #KEYS do
    local cost, cap, period = tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3]), tonumber(ARGV[3 * i + 4])
    local debt, at = state(KEYS[i], cap, period)
    local full = cap * period
    local allowed, retry = false, period
    if cost <= cap and debt <= full - cost * period then
      allowed, retry = true, 0
      debt = debt + cost * period
    elseif cost <= cap then
      retry = ceildiv(debt + cost * period - full, cap)
    end
    local remaining = 0
    if full > debt then remaining = idiv(full - debt, period) end
    out[#out + 1] = allowed and 1 or 0
    out[#out + 1] = remaining
    out[#out + 1] = ceildiv(debt, cap)
    out[#out + 1] = retry
    if not allowed then return out end
    pending[i] = {debt, at, period}
  end
  for i = 1, #KEYS do store(KEYS[i], pending[i][1], pending[i][2], pending[i][3]) end
  return out
end

if ARGV[1] == 'adjust' then
  local delta, cap, period = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local maxDebt = (1 + overdraft) * cap * period
  local clamped = math.max(-(1 + overdraft) * cap, math.min(delta, (1 + overdraft) * cap))
  local debt, at = state(KEYS[1], cap, period)
  debt = debt + clamped * period
  store(KEYS[1], math.max(0, math.min(maxDebt, debt)), at, period)
  return 1
end

return redis.error_reply('buckets.lua: unknown operation ' .. tostring(ARGV[1]) .. ' (expected take or adjust)')
