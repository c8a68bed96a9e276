local px = require("pixels")

local header = "# Written by pixels ssh-config --write; it is rewritten on every --write.\n"

-- quote wraps a path in the double quotes ssh_config accepts, for paths with spaces.
local function quote(s)
  return '"' .. s .. '"'
end

local function entry(info)
  local out = {
    "Host " .. info.name,
    "  HostName " .. info.host,
    "  Port " .. tostring(info.port),
    "  User " .. info.user,
  }
  if info.identity_file then
    out[#out + 1] = "  IdentityFile " .. quote(info.identity_file)
    out[#out + 1] = "  IdentitiesOnly yes"
  end
  out[#out + 1] = "  UserKnownHostsFile " .. quote(info.known_hosts)
  out[#out + 1] = "  StrictHostKeyChecking yes"
  return table.concat(out, "\n") .. "\n"
end

-- blocks reads the Host entries of a file this verb wrote, in order.
local function blocks(path)
  local f = io.open(path, "r")
  if not f then
    return {}
  end
  local list, cur = {}, nil
  for line in f:lines() do
    local host = line:match("^Host%s+(%S+)")
    if host then
      cur = { name = host, text = line .. "\n" }
      list[#list + 1] = cur
    elseif cur and line ~= "" then
      cur.text = cur.text .. line .. "\n"
    end
  end
  f:close()
  return list
end

local function write(path, entries)
  local parts = { header }
  for _, e in ipairs(entries) do
    parts[#parts + 1] = "\n" .. e.text
  end
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(table.concat(parts))
  f:close()
  local ok, err = os.rename(tmp, path)
  if not ok then
    os.remove(tmp)
    px.fail("ssh-config: writing " .. path .. ": " .. tostring(err))
  end
end

return px.command {
  name = "ssh-config",
  summary = "print OpenSSH Host entries for containers (ssh -F <(pixels ssh-config) NAME)",
  usage = "Without NAME, every running container. Entries use pixels' own known_hosts with " ..
    "strict checking. --write keeps them in a file under the pixels config directory and " ..
    "prints the Include line to put near the top of ~/.ssh/config (which pixels never edits).",
  args = { { name = "names", optional = true, variadic = true, help = "containers" } },
  flags = {
    { name = "write", type = "bool", help = "maintain the entries in pixels' ssh_config file" },
  },
  run = function(cmd)
    local names = cmd.args.names or {}
    local all = #names == 0
    if all then
      for _, c in ipairs(px.list({ status = "RUNNING" })) do
        names[#names + 1] = c.name
      end
    end
    local fresh, infos, failed, last = {}, {}, 0, nil
    local printing = not cmd.flags.write and not cmd.json
    for _, name in ipairs(names) do
      local ok, info = pcall(px.ssh_info, name)
      if ok then
        infos[#infos + 1] = info
        fresh[#fresh + 1] = { name = name, text = entry(info) }
        if printing then
          print((#fresh > 1 and "\n" or "") .. fresh[#fresh].text:sub(1, -2))
        end
      else
        failed, last = failed + 1, info
        if #names > 1 then
          px.log.error("%s", tostring(info))
        end
      end
    end
    if cmd.flags.write then
      local path = px.ssh_config_file()
      local entries = {}
      if not all then
        local given = {}
        for _, e in ipairs(fresh) do
          given[e.name] = true
        end
        for _, e in ipairs(blocks(path)) do
          if not given[e.name] then
            entries[#entries + 1] = e
          end
        end
      end
      for _, e in ipairs(fresh) do
        entries[#entries + 1] = e
      end
      write(path, entries)
      px.log.info("wrote %d %s to %s; add this line near the top of ~/.ssh/config:", #entries,
        #entries == 1 and "entry" or "entries", path)
      print("Include " .. quote(path))
    elseif all and #names == 0 then
      px.log.info("no running containers")
    end
    if failed == 1 and #names == 1 then
      error(last, 0)
    elseif failed > 0 then
      px.fail(string.format("ssh-config: %d of %d containers failed", failed, #names),
        { code = failed == #names and (type(last) == "table" and last.code or "failed")
          or "partial" })
    end
    if cmd.json and not cmd.flags.write then
      return infos
    end
  end,
}
