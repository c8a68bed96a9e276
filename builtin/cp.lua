local px = require("pixels")

-- A side is remote when it reads NAME:PATH with a valid container name; write ./a:b for a
-- local path that happens to look like that.
local function remote(spec)
  local name, path = spec:match("^([a-z][a-z0-9-]*):(.*)$")
  if name and px.valid_name(name) then
    return name, path
  end
  return nil
end

return px.command {
  name = "cp",
  summary = "copy files and directories into or out of a container, keeping modes",
  usage = "Exactly one of SRC and DST is NAME:PATH. A directory is copied with everything " ..
    "below it; an existing destination directory receives the copy under its own name, " ..
    "otherwise DST names the copy. Example: pixels cp ./src dev:/srv  or  " ..
    "pixels cp dev:/var/log/app.log .",
  args = {
    { name = "src", help = "local path or NAME:PATH" },
    { name = "dst", help = "local path or NAME:PATH" },
  },
  run = function(cmd)
    local sname, spath = remote(cmd.args.src)
    local dname, dpath = remote(cmd.args.dst)
    if sname and dname then
      px.fail("cp: both sides name a container; copy through a local directory instead",
        { code = "usage" })
    elseif not sname and not dname then
      px.fail("cp: one side must be NAME:PATH (usage: pixels cp SRC NAME:PATH or " ..
        "pixels cp NAME:PATH DST)", { code = "usage" })
    end
    if dname then
      if dpath == "" then
        dpath = "."
      end
      px.copy_to(dname, cmd.args.src, dpath)
    else
      if spath == "" then
        px.fail("cp: name the path to copy after " .. sname .. ":", { code = "usage" })
      end
      px.copy_from(sname, spath, cmd.args.dst)
    end
  end,
}
