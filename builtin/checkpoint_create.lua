local px = require("pixels")

return px.command {
  name = "checkpoint create",
  summary = "save the container's state as a ZFS snapshot",
  args = { { name = "name", help = "the container" } },
  flags = {
    { name = "label", short = "l", help = "label; generated from the time when absent" },
  },
  run = function(cmd)
    local cp = px.checkpoint(cmd.args.name, { label = cmd.flags.label })
    if cmd.json then
      return cp
    end
    print(cp.label)
  end,
}
