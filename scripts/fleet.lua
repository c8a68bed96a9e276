-- fleet.lua: several containers at once, with px.parallel, each checked, all cleaned up.
--
--   pixels run fleet.lua -- --count 3
local px = require("pixels")

return px.command {
  name = "fleet",
  summary = "create COUNT containers in parallel, run a command on each, destroy them",
  flags = {
    { name = "count", type = "int", default = 3, help = "how many containers" },
    { name = "prefix", default = "fleet", help = "name prefix" },
  },
  run = function(cmd)
    local names = {}
    for i = 1, cmd.flags.count do
      names[i] = string.format("%s-%d", cmd.flags.prefix, i)
    end
    px.defer(function()
      px.parallel(names, function(n) px.destroy(n, { force = true, missing_ok = true }) end)
    end)
    local results, errs = px.parallel(names, function(n)
      px.create { name = n, image = "debian/12" }
      return px.exec(n, "uname -n", { check = true }).stdout:gsub("%s+$", "")
    end, { limit = 10 })
    if errs then
      for i, e in pairs(errs) do
        px.log.error("%s: %s", names[i], tostring(e))
      end
      px.fail("some containers failed", { code = "partial" })
    end
    local rows = {}
    for i, n in ipairs(names) do
      rows[i] = { name = n, hostname = results[i] }
    end
    return rows
  end,
}
