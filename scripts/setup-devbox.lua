-- setup-devbox.lua: a development box, ready to use, with a clean checkpoint to go back to.
--
--   pixels run setup-devbox.lua                      # a box named "devbox"
--   pixels run setup-devbox.lua -- --name box --image debian/12 --package ripgrep
--
-- Copy it into ~/.config/pixels/scripts/ and it becomes `pixels devbox`.
local px = require("pixels")

return px.command {
  name = "devbox",
  summary = "create a provisioned development container with a clean checkpoint",
  flags = {
    { name = "name", default = "devbox", help = "container name" },
    { name = "image", default = "debian/12", help = "image alias" },
    { name = "user", default = "dev", help = "login user to create" },
    { name = "package", type = "strings", help = "extra package to install, repeatable" },
    { name = "keep-on-error", type = "bool", help = "keep the container when a step fails" },
  },
  run = function(cmd)
    local f = cmd.flags
    local started = os.time()

    px.log.info("creating %s from %s", f.name, f.image)
    local box = px.create { name = f.name, image = f.image, cpu = 2, memory = "2GiB" }
    -- A failed step must not leave a half-built box behind.
    px.defer(function()
      if not f.keep_on_error then
        px.log.warn("setup failed: destroying %s (pass --keep-on-error to keep it)", f.name)
        px.destroy(f.name, { force = true, missing_ok = true })
      end
    end, { on = "error" })

    -- Configuration files first, so the package installs below pick them up.
    px.write_file(f.name, "/etc/apt/apt.conf.d/99pixels",
      'APT::Install-Recommends "false";\nAPT::Get::Assume-Yes "true";\n')
    px.write_file(f.name, "/etc/profile.d/devbox.sh",
      "export EDITOR=vi\nexport PAGER=less\nalias ll='ls -l'\n", { mode = "0644" })
    px.write_file(f.name, "/etc/motd", "devbox " .. f.name .. ", made by pixels\n")

    local packages = { "git", "curl", "build-essential", "ca-certificates" }
    for _, p in ipairs(f.package) do
      packages[#packages + 1] = p
    end
    px.log.info("installing %d packages", #packages)
    px.exec(f.name, { "apt-get", "update" }, { check = true })
    local install = { "apt-get", "install", "-y" }
    for _, p in ipairs(packages) do
      install[#install + 1] = p
    end
    px.exec(f.name, install, { check = true, env = { DEBIAN_FRONTEND = "noninteractive" } })

    px.exec(f.name, { "useradd", "-m", "-s", "/bin/bash", f.user }, { check = true })
    px.exec(f.name, { "mkdir", "-p", "/home/" .. f.user .. "/src" }, { check = true })

    -- Check the result the way a person would, before calling it done.
    local check = px.exec(f.name, "test -f /etc/profile.d/devbox.sh && grep -q Assume-Yes " ..
      "/etc/apt/apt.conf.d/99pixels && echo ok")
    if check.code ~= 0 or not check.stdout:match("ok") then
      px.fail("devbox check failed: " .. check.stderr)
    end

    local cp = px.checkpoint(f.name, { label = "clean" })
    return {
      name = box.name,
      image = f.image,
      ipv4 = box.ipv4,
      user = f.user,
      packages = table.concat(packages, " "),
      checkpoint = cp.label,
      seconds = os.time() - started,
    }
  end,
}
