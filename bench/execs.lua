-- execs.lua: the exec benchmark's recipe. It runs COUNT commands in one existing container
-- from one process, so the SSH connection is made once and reused; bench/run.sh compares it
-- with COUNT separate `pixels exec` processes.
--
--   pixels run bench/execs.lua -- --name box --count 50
local px = require("pixels")

return px.command {
  name = "bench-execs",
  summary = "run COUNT trivial commands in container NAME over one connection",
  flags = {
    { name = "name", default = "box", help = "an existing, running container" },
    { name = "count", type = "int", default = 50, help = "how many commands" },
  },
  run = function(cmd)
    for i = 1, cmd.flags.count do
      px.exec(cmd.flags.name, "true", { check = true })
    end
    return cmd.flags.count
  end,
}
