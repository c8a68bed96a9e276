local px = require("pixels")

return px.command {
  name = "exec",
  summary = "run a command in a container; its exit status becomes ours",
  usage = "Flags go before NAME; every word after NAME is the command, verbatim (a leading -- " ..
    "is dropped). Exit status: the remote one, 128+N for a remote death by signal N, 255 when " ..
    "pixels itself fails.",
  passthrough = true,
  args = { { name = "name", help = "the container" } },
  flags = {
    { name = "env", short = "e", type = "strings", help = "KEY=VALUE for the command, repeatable" },
    { name = "cwd", short = "w", help = "working directory" },
    { name = "user", short = "u", help = "run as this user" },
    { name = "tty", short = "t", type = "bool", help = "allocate a terminal" },
  },
  run = function(cmd)
    if #cmd.rest == 0 then
      px.fail("exec: missing COMMAND (usage: pixels exec NAME [--] COMMAND [ARG...])",
        { code = "usage" })
    end
    local env
    for _, kv in ipairs(cmd.flags.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then
        px.fail("exec: --env wants KEY=VALUE, got " .. kv, { code = "usage" })
      end
      env = env or {}
      env[k] = v
    end
    local opts = { env = env, cwd = cmd.flags.cwd, user = cmd.flags.user, tty = cmd.flags.tty,
      stdin = true, stream = not cmd.json }
    local ok, res = pcall(px.exec, cmd.args.name, cmd.rest, opts)
    if not ok then
      if type(res) == "table" and res.code == "interrupted" then
        error(res, 0)
      end
      -- pixels' own failure: 255, as ssh does, keeping the error's code for --json.
      px.fail(type(res) == "table" and res.message or tostring(res),
        { code = type(res) == "table" and res.code or "failed", status = 255 })
    end
    if cmd.json then
      return res, res.code
    end
    os.exit(res.code)
  end,
}
