local px = require("pixels")
local each = require("pixels.each")

return px.command {
  name = "stop",
  summary = "stop running containers, giving each guest time to shut down",
  args = { { name = "names", variadic = true, help = "containers to stop" } },
  flags = {
    { name = "force", short = "f", type = "bool", help = "do not wait for the guest's shutdown" },
    { name = "timeout", type = "duration", default = "2m", help = "graceful shutdown deadline" },
  },
  run = function(cmd)
    local out = {}
    each("stop", cmd.args.names, function(name)
      out[#out + 1] = px.stop(name, { force = cmd.flags.force, timeout = cmd.flags.timeout })
    end)
    if cmd.json then
      return out
    end
  end,
}
