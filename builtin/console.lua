local px = require("pixels")

return px.command {
  name = "console",
  summary = "open an interactive shell in a container",
  passthrough = true,
  args = { { name = "name", help = "the container" } },
  flags = {
    { name = "shell", short = "s", help = "shell to run, e.g. bash" },
  },
  run = function(cmd)
    local ok, code = pcall(px.console, cmd.args.name, { shell = cmd.flags.shell })
    if not ok then
      error(code, 0)
    end
    os.exit(code)
  end,
}
