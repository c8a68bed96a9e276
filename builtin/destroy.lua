local px = require("pixels")
local each = require("pixels.each")

return px.command {
  name = "destroy",
  summary = "delete containers and all their checkpoints",
  args = { { name = "names", variadic = true, help = "containers to destroy" } },
  flags = {
    { name = "force", short = "f", type = "bool", help = "stop running containers first" },
    { name = "missing-ok", type = "bool", help = "succeed when a container does not exist" },
  },
  run = function(cmd)
    each("destroy", cmd.args.names, function(name)
      px.destroy(name, { force = cmd.flags.force, missing_ok = cmd.flags.missing_ok })
    end)
  end,
}
