local px = require("pixels")

return px.command {
  name = "create",
  summary = "create a container and wait until it answers SSH",
  usage = "Prints the new container's name on stdout, so name=$(pixels create) works.\n" ..
    "With --from, the new container is a full, independent copy of another container's\n" ..
    "checkpoint (NAME@CHECKPOINT) or of its current state (NAME); CPU and memory follow the\n" ..
    "source unless given.",
  args = { { name = "name", optional = true, help = "bare name; generated when absent" } },
  flags = {
    { name = "image", short = "i", help = "image alias, e.g. debian/12 (default: config defaults.image)" },
    { name = "cpu", type = "int", help = "CPU count (default: config defaults.cpu)" },
    { name = "memory", short = "m", help = "memory, e.g. 2GiB, or a number of MiB" },
    { name = "env", short = "e", type = "strings", help = "KEY=VALUE for the container, repeatable" },
    { name = "dns", type = "strings", help = "DNS server for the container, repeatable" },
    { name = "wait", default = "ssh", enum = { "none", "running", "network", "ssh" },
      help = "readiness to wait for" },
    { name = "timeout", type = "duration", default = "5m", help = "deadline for creation and readiness" },
    { name = "from", help = "copy NAME@CHECKPOINT, or NAME as it is now, instead of starting from an image" },
  },
  run = function(cmd)
    local f = cmd.flags
    local opts = { name = cmd.args.name, image = f.image, cpu = f.cpu, memory = f.memory,
      wait = f.wait, timeout = f.timeout, from = f.from }
    if #f.env > 0 then
      opts.env = {}
      for _, kv in ipairs(f.env) do
        local k, v = kv:match("^([^=]+)=(.*)$")
        if not k then
          px.fail("create: --env wants KEY=VALUE, got " .. kv, { code = "usage" })
        end
        opts.env[k] = v
      end
    end
    if #f.dns > 0 then
      opts.dns = f.dns
    end
    local c = px.create(opts)
    if cmd.json then
      return c
    end
    print(c.name)
  end,
}
