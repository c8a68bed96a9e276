local px = require("pixels")

return px.command {
  name = "list",
  summary = "list containers (a table on a terminal, tab-separated when piped)",
  flags = {
    { name = "status", help = "only containers in this status, e.g. running" },
  },
  run = function(cmd)
    local opts = {}
    if cmd.flags.status then
      opts.status = cmd.flags.status
    end
    local list = px.list(opts)
    if #list == 0 and not cmd.json then
      px.log.info("no containers yet (create one with: pixels create NAME)")
      return nil
    end
    return list
  end,
}
