local px = require("pixels")

return px.command {
  name = "checkpoint delete",
  summary = "delete a checkpoint",
  args = { { name = "name", help = "the container" }, { name = "checkpoint", help = "label or id" } },
  run = function(cmd)
    px.delete_checkpoint(cmd.args.name, cmd.args.checkpoint)
  end,
}
