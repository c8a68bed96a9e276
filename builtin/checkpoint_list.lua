local px = require("pixels")

return px.command {
  name = "checkpoint list",
  summary = "list a container's checkpoints, newest first",
  args = { { name = "name", help = "the container" } },
  run = function(cmd)
    return px.checkpoints(cmd.args.name)
  end,
}
