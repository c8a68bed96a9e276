local px = require("pixels")

return px.command {
  name = "checkpoint restore",
  summary = "roll a container back to a checkpoint (label or id)",
  usage = "Refuses, before touching anything, when newer checkpoints would be destroyed; " ..
    "--force accepts that. A running container is stopped, rolled back and started again.",
  args = { { name = "name", help = "the container" }, { name = "checkpoint", help = "label or id" } },
  flags = {
    { name = "force", short = "f", type = "bool", help = "destroy newer checkpoints when needed" },
    { name = "timeout", type = "duration", default = "5m", help = "deadline" },
  },
  run = function(cmd)
    local c = px.restore(cmd.args.name, cmd.args.checkpoint,
      { force = cmd.flags.force, timeout = cmd.flags.timeout })
    if cmd.json then
      return c
    end
  end,
}
