local px = require("pixels")
local each = require("pixels.each")

return px.command {
  name = "start",
  summary = "start containers and wait until they answer SSH",
  args = { { name = "names", variadic = true, help = "containers to start" } },
  flags = {
    { name = "wait", default = "ssh", enum = { "none", "running", "network", "ssh" },
      help = "readiness to wait for" },
    { name = "timeout", type = "duration", default = "5m", help = "deadline per container" },
  },
  run = function(cmd)
    local out = {}
    each("start", cmd.args.names, function(name)
      out[#out + 1] = px.start(name, { wait = cmd.flags.wait, timeout = cmd.flags.timeout })
    end)
    if cmd.json then
      return out
    end
  end,
}
