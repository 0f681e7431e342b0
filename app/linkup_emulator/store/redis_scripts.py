"""The Redis store's Lua scripts: each is one atomic step of state, run with EVALSHA.

Key layout (P is EMULATOR_REDIS_PREFIX; a tenant's tag is the SHA-1 of its key, so any key
text makes a well-formed tag):

  P{g}clock          hash: frozen, offset (now), init_frozen, init_offset (a reset's), seeded
  P{g}faults         zset of rule numbers; P{g}f:<n> hash: spec, key, acc, act, matched, remaining
  P{g}fault_id       the last rule number (back to 0 at a full reset)
  P{g}epochs         the last account epoch handed out (only grows)
  P{g}owners         hash: account id -> api key (who owns which account)
  P{g}tenants        set of api keys
  P{g}journal_id     the last journal row id (only grows)
  P{g}journals       set of journal lists that hold rows
  P{t:<sha1>}tenant  hash: balance ('' = unmetered), consumed, rate_limit ('' = default),
                     offset, spec, image (what a reset restores), runtime ('0' = fixture),
                     born (its emulated time when first stored; a reset keeps it)
  P{t:<sha1>}order   list of the tenant's account ids, in listed order
  P{t:<sha1>}a:<id>  hash: key, name, status, country, pool, created, updated, net (network
                     settings JSON), epoch (from P{g}epochs, new at every insert)
  P{t:<sha1>}usage   hash: n<account> calls, c<account> credits
  P{t:<sha1>}rate    hash: start, count (the fixed window)
  P{t:<sha1>}g:<id>  hash: v:<member> version, s:<member> seq, r:<member> record, # last seq
  P{t:<sha1>}journal list of rows: 16-digit id, 40-char account digest, the entry's JSON
  P{j:none}journal   the journal of requests with no tenant

Floats (clock, offsets, window starts) are kept as the Python repr the caller sent, so they
come back bit-exact; Lua compares them as numbers or as those strings.
"""

from __future__ import annotations

# Prepended to every script. ARGV[1] is always the prefix.
PREAMBLE = """
local P = ARGV[1]
local G = P .. '{g}'
local function T(key) return P .. '{t:' .. redis.sha1hex(key) .. '}' end
local function add_account(t, api_key, a)
  redis.call('HSET', t .. 'a:' .. a[1], 'key', api_key, 'name', a[2], 'status', a[3],
    'country', a[4], 'pool', a[5], 'created', a[6], 'updated', a[7], 'net', a[8],
    'epoch', tostring(redis.call('INCR', G .. 'epochs')))
end
local function insert(api_key, spec, image, runtime, born)
  local t = T(api_key)
  local img = cjson.decode(image)
  redis.call('HSET', t .. 'tenant', 'balance', img.credits, 'consumed', '0',
    'rate_limit', img.rate_limit, 'offset', '0.0', 'spec', spec, 'image', image,
    'runtime', runtime, 'display', img.display, 'born', born or img.born,
    'gen', redis.call('INCR', G .. 'generation'))
  for _, a in ipairs(img.accounts) do
    redis.call('RPUSH', t .. 'order', a[1])
    add_account(t, api_key, a)
    redis.call('HSET', G .. 'owners', a[1], api_key)
  end
  redis.call('SADD', G .. 'tenants', api_key)
end
local function account(id)
  local owner = redis.call('HGET', G .. 'owners', id)
  if not owner then return false end
  return T(owner) .. 'a:' .. id, owner
end
local function drop_rule(n)
  redis.call('DEL', G .. 'f:' .. n)
  redis.call('ZREM', G .. 'faults', n)
end
"""

# Every v2 request's first read: the tenant, the named account, whether rules exist, the
# clock. ARGV: prefix, api_key, account id ('' with ARGV[4] = '0': none named).
LOOKUP = """
local t = redis.call('HMGET', T(ARGV[2]) .. 'tenant', 'balance', 'consumed', 'rate_limit',
  'offset', 'display', 'gen')
local out = {t[1], t[2], t[3], t[4], false, false, false, false, false, false, false, false}
if ARGV[4] == '1' then
  local key, owner = account(ARGV[3])
  if key then
    local a = redis.call('HMGET', key, 'name', 'status', 'country', 'pool', 'created',
      'updated', 'net', 'epoch')
    out[5] = owner
    for i = 1, 6 do out[5 + i] = a[i] end
    out[16] = a[7]
    out[17] = a[8]
    out[18] = redis.call('HGET', T(owner) .. 'tenant', 'born')
    out[19] = redis.call('HGET', T(owner) .. 'g:' .. ARGV[3], '#') or '0'
  end
end
local clock = redis.call('HMGET', G .. 'clock', 'frozen', 'offset')
out[12] = tostring(redis.call('ZCARD', G .. 'faults'))
out[13] = clock[1]
out[14] = clock[2]
out[15] = t[5]
for i = 16, 19 do if out[i] == nil then out[i] = false end end
out[20] = t[6]
return out
"""

# A new tenant, unless its key or one of its account ids exists. ARGV: prefix, api_key,
# spec JSON, image JSON.
CREATE = """
if redis.call('EXISTS', T(ARGV[2]) .. 'tenant') == 1 then return 0 end
for _, a in ipairs(cjson.decode(ARGV[4]).accounts) do
  if redis.call('HEXISTS', G .. 'owners', a[1]) == 1 then return 0 end
end
insert(ARGV[2], ARGV[3], ARGV[4], '1')
return 1
"""

# Fixture tenants: every stored tenant becomes runtime-like, fixtures are added or brought
# up to date (state kept, missing accounts added); a fixture account owned by another key
# changes nothing. ARGV: prefix, then api_key, spec, image per tenant.
SEED = """
for i = 2, #ARGV, 3 do
  for _, a in ipairs(cjson.decode(ARGV[i + 2]).accounts) do
    local owner = redis.call('HGET', G .. 'owners', a[1])
    if owner and owner ~= ARGV[i] then return {a[1], ARGV[i]} end
  end
end
for _, key in ipairs(redis.call('SMEMBERS', G .. 'tenants')) do
  redis.call('HSET', T(key) .. 'tenant', 'runtime', '1')
end
for i = 2, #ARGV, 3 do
  local key, spec, image = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local t = T(key)
  if redis.call('EXISTS', t .. 'tenant') == 0 then
    insert(key, spec, image, '0')
  else
    redis.call('HSET', t .. 'tenant', 'spec', spec, 'image', image, 'runtime', '0',
      'display', cjson.decode(image).display)
    for _, a in ipairs(cjson.decode(image).accounts) do
      if redis.call('HSETNX', G .. 'owners', a[1], key) == 1 then
        redis.call('RPUSH', t .. 'order', a[1])
        add_account(t, key, a)
      end
    end
  end
end
return {}
"""

# One page of a tenant's accounts and their total. ARGV: prefix, api_key, offset, limit.
ACCOUNTS = """
local t = T(ARGV[2])
local start = tonumber(ARGV[3])
local ids = redis.call('LRANGE', t .. 'order', start, start + tonumber(ARGV[4]) - 1)
local out = {tostring(redis.call('LLEN', t .. 'order')),
  redis.call('HGET', t .. 'tenant', 'born') or '0'}
for _, id in ipairs(ids) do
  local a = redis.call('HMGET', t .. 'a:' .. id, 'name', 'status', 'country', 'pool',
    'created', 'updated', 'net', 'epoch')
  table.insert(out, id)
  for i = 1, 8 do table.insert(out, a[i]) end
end
return out
"""

# Calls and credits of each of a tenant's accounts. ARGV: prefix, api_key.
USAGE = """
local t = T(ARGV[2])
local out = {}
for _, id in ipairs(redis.call('LRANGE', t .. 'order', 0, -1)) do
  local a = redis.call('HMGET', t .. 'a:' .. id, 'status', 'country')
  local u = redis.call('HMGET', t .. 'usage', 'n' .. id, 'c' .. id)
  for _, v in ipairs({id, a[1], a[2], u[1] or '0', u[2] or '0'}) do table.insert(out, v) end
end
return out
"""

# The clock a full reset restores; also the clock now if none was ever seeded.
# ARGV: prefix, frozen ('' = running), offset.
SEED_CLOCK = """
local c = G .. 'clock'
redis.call('HSET', c, 'init_frozen', ARGV[2], 'init_offset', ARGV[3])
if redis.call('HGET', c, 'seeded') ~= '1' then
  redis.call('HSET', c, 'frozen', ARGV[2], 'offset', ARGV[3], 'seeded', '1')
end
return 1
"""

# Compare-and-set of the global clock. ARGV: prefix, expected frozen, offset, new frozen, offset.
SWAP_CLOCK = """
local c = redis.call('HMGET', G .. 'clock', 'frozen', 'offset')
if (c[1] or '') ~= ARGV[2] or tonumber(c[2] or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', G .. 'clock', 'frozen', ARGV[4], 'offset', ARGV[5])
return 1
"""

# Compare-and-set of a tenant's clock offset. ARGV: prefix, api_key, expected, new.
SWAP_OFFSET = """
local t = T(ARGV[2]) .. 'tenant'
local offset = redis.call('HGET', t, 'offset')
if not offset then return -1 end
if tonumber(offset) ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', t, 'offset', ARGV[4])
return 1
"""

# Set a tenant's balance and/or rate limit ('' = none). ARGV: prefix, api_key, field, value...
PATCH = """
local t = T(ARGV[2]) .. 'tenant'
if redis.call('EXISTS', t) == 0 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', t, ARGV[i], ARGV[i + 1]) end
return 1
"""

# An account's status and updated_at. ARGV: prefix, account id, status, now.
STATUS = """
local key = account(ARGV[2])
if not key then return 0 end
redis.call('HSET', key, 'status', ARGV[3], 'updated', ARGV[4])
return 1
"""

# The hot path's write: the tenant exists, every change's member is still at the version the
# plan read, the balance covers the cost; then debit, count the use and apply the changes.
# KEYS (one tenant's tag): tenant, usage, graph, account. ARGV: prefix, cost, account id, the
# epoch the plan read ('' = any), '1' to count the use, the tenant's generation the call read
# ('' = any), then member, expected version, record per change.
APPLY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[4], 'epoch') ~= ARGV[4] then return {'gone'} end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], 'gen') ~= ARGV[6] then return {'gone'} end
for i = 7, #ARGV, 3 do
  local v = redis.call('HGET', KEYS[3], 'v:' .. ARGV[i])
  if tonumber(v or '0') ~= tonumber(ARGV[i + 1]) then return {'conflict'} end
end
local cost = tonumber(ARGV[2])
local balance = redis.call('HGET', KEYS[1], 'balance')
if balance ~= '' then
  if tonumber(balance) < cost then return {'balance', balance} end
  -- (Redis reads no '-0' as an integer: a free call leaves the balance alone.)
  if cost > 0 then redis.call('HINCRBY', KEYS[1], 'balance', '-' .. ARGV[2]) end
end
redis.call('HINCRBY', KEYS[1], 'consumed', ARGV[2])
if ARGV[5] == '1' then
  redis.call('HINCRBY', KEYS[2], 'n' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[2], 'c' .. ARGV[3], ARGV[2])
end
for i = 7, #ARGV, 3 do
  local seq = redis.call('HINCRBY', KEYS[3], '#', 1)
  redis.call('HSET', KEYS[3], 'v:' .. ARGV[i], tonumber(ARGV[i + 1]) + 1, 's:' .. ARGV[i], seq,
    'r:' .. ARGV[i], ARGV[i + 2])
end
return {'ok'}
"""

# Every stored member change of an account (its owner's graph). ARGV: prefix, account id.
GRAPH = """
local owner = redis.call('HGET', G .. 'owners', ARGV[2])
if not owner then return {} end
return redis.call('HGETALL', T(owner) .. 'g:' .. ARGV[2])
"""

# The account's entries changed after a seq, as member, version, seq, record quadruples.
# ARGV: prefix, account id, after.
GRAPH_SINCE = """
local owner = redis.call('HGET', G .. 'owners', ARGV[2])
if not owner then return {} end
local g = T(owner) .. 'g:' .. ARGV[2]
local after = tonumber(ARGV[3])
if tonumber(redis.call('HGET', g, '#') or '0') <= after then return {} end
local out = {}
local all = redis.call('HGETALL', g)
for i = 1, #all, 2 do
  local name = all[i]
  if string.sub(name, 1, 2) == 's:' and tonumber(all[i + 1]) > after then
    local member = string.sub(name, 3)
    local vr = redis.call('HMGET', g, 'v:' .. member, 'r:' .. member)
    for _, v in ipairs({member, vr[1], all[i + 1], vr[2]}) do table.insert(out, v) end
  end
end
return out
"""

# Count a request in the key's fixed window, opening a new one when it has passed (or starts
# after now: the clock went back). Nothing is counted for a call of the tenant's last life
# (count 0). KEYS: the window, the tenant. ARGV: prefix, now, window seconds, generation.
HIT_RATE = """
if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], 'gen') ~= ARGV[4] then return {ARGV[2], 0} end
local w = redis.call('HMGET', KEYS[1], 'start', 'count')
local start, count = w[1], tonumber(w[2] or '0')
local now = tonumber(ARGV[2])
if not start or now >= tonumber(start) + tonumber(ARGV[3]) or now < tonumber(start) then
  start, count = ARGV[2], 0
end
count = count + 1
redis.call('HSET', KEYS[1], 'start', start, 'count', count)
return {start, count}
"""

# Journal rows, each with the next id, each list kept to its bound: every row that arrived
# while the last batch was being written (a group commit). KEYS: the id counter, the set of
# lists, then each row's list. ARGV: prefix, bound, then account digest, entry JSON and the
# tenant's generation the call read ('' = any) per row. A row whose tenant was reset since is
# not written (its tenant hash shares the list's tag: the list's name less 'journal').
RECORD = """
local bound = tonumber(ARGV[2])
for i = 3, #ARGV, 3 do
  local list = KEYS[2 + i / 3]
  local gen = ARGV[i + 2]
  if gen == '' or redis.call('HGET', string.sub(list, 1, -8) .. 'tenant', 'gen') == gen then
    local id = redis.call('INCR', KEYS[1])
    redis.call('RPUSH', list, string.format('%016d', id) .. ARGV[i] .. ARGV[i + 1])
    redis.call('LTRIM', list, -bound, -1)
    redis.call('SADD', KEYS[2], list)
  end
end
return 1
"""

# The newest `limit` rows (of one list, or merged from all) and the total, by account digest.
# KEYS: one list, or the set of lists. ARGV: prefix, '1' when KEYS[1] is the set, account
# digest ('' = any), limit.
JOURNAL = """
local lists = {KEYS[1]}
if ARGV[2] == '1' then lists = redis.call('SMEMBERS', KEYS[1]) end
local rows = {}
for _, list in ipairs(lists) do
  for _, row in ipairs(redis.call('LRANGE', list, 0, -1)) do
    if ARGV[3] == '' or string.sub(row, 17, 56) == ARGV[3] then table.insert(rows, row) end
  end
end
if #lists > 1 then table.sort(rows) end
local out = {tostring(#rows)}
local limit = tonumber(ARGV[4])
for i = #rows, math.max(1, #rows - limit + 1), -1 do table.insert(out, rows[i]) end
return out
"""

# A new fault rule. ARGV: prefix, spec JSON, remaining ('' = no limit), then the match's
# present fields as name, value pairs (key, acc, act).
FAULT_ADD = """
local n = redis.call('INCR', G .. 'fault_id')
local rule = G .. 'f:' .. n
redis.call('HSET', rule, 'spec', ARGV[2], 'matched', 0, 'remaining', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', rule, ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', G .. 'faults', n, n)
return n
"""

# All rules, or those whose match names an api key, oldest first. ARGV: prefix, api_key or ''.
FAULTS = """
local out = {}
for _, n in ipairs(redis.call('ZRANGE', G .. 'faults', 0, -1)) do
  local r = redis.call('HMGET', G .. 'f:' .. n, 'spec', 'matched', 'remaining', 'key')
  if ARGV[2] == '' or r[4] == ARGV[2] then
    for _, v in ipairs({n, r[1], r[2], r[3]}) do table.insert(out, v) end
  end
end
return out
"""

# Delete one rule by number, or all rules (of one api key's match). ARGV: prefix, mode
# ('one', 'key', 'all'), number or api key.
FAULT_DELETE = """
if ARGV[2] == 'one' then
  if redis.call('ZSCORE', G .. 'faults', ARGV[3]) == false then return 0 end
  drop_rule(ARGV[3])
  return 1
end
local gone = 0
for _, n in ipairs(redis.call('ZRANGE', G .. 'faults', 0, -1)) do
  if ARGV[2] == 'all' or redis.call('HGET', G .. 'f:' .. n, 'key') == ARGV[3] then
    drop_rule(n)
    gone = gone + 1
  end
end
return gone
"""

# Count a match on every matching rule, oldest first, retiring those whose `times` are spent.
# ARGV: prefix, api_key, account id ('' with ARGV[5] = '0': none), action, account given.
FAULT_HITS = """
local out = {}
for _, n in ipairs(redis.call('ZRANGE', G .. 'faults', 0, -1)) do
  local rule = G .. 'f:' .. n
  local r = redis.call('HMGET', rule, 'key', 'acc', 'act', 'spec', 'remaining')
  if (not r[1] or r[1] == ARGV[2]) and (not r[2] or (ARGV[5] == '1' and r[2] == ARGV[3]))
      and (not r[3] or r[3] == ARGV[4]) then
    local matched = redis.call('HINCRBY', rule, 'matched', 1)
    local remaining = r[5]
    if remaining ~= '' then
      remaining = tostring(tonumber(remaining) - 1)
      if remaining == '0' then
        drop_rule(n)
      else
        redis.call('HSET', rule, 'remaining', remaining)
      end
    end
    for _, v in ipairs({n, r[4], tostring(matched), remaining}) do table.insert(out, v) end
  end
end
return out
"""

# Back to the fixtures and the seeded clock: every key of the prefix goes (but the journal's
# id counter), then the fixture tenants come back from their images. ARGV: prefix, the
# prefix as a KEYS pattern.
RESET_ALL = """
local fixtures = {}
for _, key in ipairs(redis.call('SMEMBERS', G .. 'tenants')) do
  local f = redis.call('HMGET', T(key) .. 'tenant', 'runtime', 'spec', 'image', 'born')
  if f[1] == '0' then table.insert(fixtures, {key, f[2], f[3], f[4]}) end
end
local init = redis.call('HMGET', G .. 'clock', 'init_frozen', 'init_offset', 'seeded')
local keep = {[G .. 'journal_id'] = true, [G .. 'clock'] = true, [G .. 'epochs'] = true,
  [G .. 'generation'] = true}
for _, key in ipairs(redis.call('KEYS', ARGV[2] .. '{*')) do
  if not keep[key] then redis.call('DEL', key) end
end
if init[3] then
  redis.call('HSET', G .. 'clock', 'frozen', init[1] or '', 'offset', init[2] or '0.0')
end
for _, f in ipairs(fixtures) do insert(f[1], f[2], f[3], '0', f[4]) end
return 1
"""

# One tenant back to how it was loaded or created: its accounts, graphs, usage, window,
# journal, rules and webhooks (redis_hooks.py) go, then it comes back from its image.
# ARGV: prefix, api_key.
RESET_ONE = """
local key = ARGV[2]
local t = T(key)
local f = redis.call('HMGET', t .. 'tenant', 'runtime', 'spec', 'image', 'born')
if not f[1] then return 0 end
for _, id in ipairs(redis.call('LRANGE', t .. 'order', 0, -1)) do
  redis.call('DEL', t .. 'a:' .. id, t .. 'g:' .. id)
  redis.call('HDEL', G .. 'owners', id)
end
redis.call('DEL', t .. 'tenant', t .. 'order', t .. 'usage', t .. 'rate', t .. 'journal')
for _, id in ipairs(redis.call('LRANGE', t .. 'hook_order', 0, -1)) do
  redis.call('DEL', t .. 'hz:' .. id, t .. 'hb:' .. id)
end
redis.call('DEL', t .. 'hooks', t .. 'hook_order', t .. 'hook_seq', t .. 'cursors')
redis.call('SREM', G .. 'journals', t .. 'journal')
for _, n in ipairs(redis.call('ZRANGE', G .. 'faults', 0, -1)) do
  if redis.call('HGET', G .. 'f:' .. n, 'key') == key then drop_rule(n) end
end
insert(key, f[2], f[3], f[1], f[4])
return 1
"""
