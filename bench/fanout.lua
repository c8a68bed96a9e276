-- fanout.lua: the fan-out benchmark's recipe. It creates COUNT containers through one
-- px.parallel, by default with no limit below COUNT so every create is in flight at once,
-- and leaves them running; `--destroy` removes the same names afterwards (untimed by
-- bench/run.sh).
--
--   pixels run bench/fanout.lua -- --count 20 [--limit N] [--destroy]
local px = require("pixels")

return px.command {
  name = "bench-fanout",
  summary = "create (or destroy) COUNT containers in parallel",
  flags = {
    { name = "count", type = "int", default = 20, help = "how many containers" },
    { name = "prefix", default = "fan", help = "name prefix" },
    { name = "limit", type = "int", default = 0, help = "at most this many at once (0: COUNT)" },
    { name = "destroy", type = "bool", help = "destroy them instead of creating them" },
  },
  run = function(cmd)
    local names = {}
    for i = 1, cmd.flags.count do
      names[i] = string.format("%s-%d", cmd.flags.prefix, i)
    end
    local limit = cmd.flags.limit > 0 and cmd.flags.limit or #names
    local _, errs
    if cmd.flags.destroy then
      _, errs = px.parallel(names, function(n)
        px.destroy(n, { force = true, missing_ok = true })
      end, { limit = limit })
    else
      _, errs = px.parallel(names, function(n)
        px.create { name = n, image = "debian/12" }
      end, { limit = limit })
    end
    if errs then
      for i, e in pairs(errs) do
        px.log.error("%s: %s", names[i], tostring(e))
      end
      px.fail("some containers failed", { code = "partial" })
    end
    return #names
  end,
}
