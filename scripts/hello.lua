-- hello.lua: the smallest recipe. A plain file runs top to bottom; `arg` holds its arguments.
--
--   pixels run hello.lua -- NAME
local name = arg[1] or "hello"

local box = px.create { name = name, image = "debian/12" }
local r = px.exec(name, { "sh", "-c", "echo hello from $(hostname)" }, { check = true })
io.write(r.stdout)
px.destroy(name, { force = true })
print(string.format("%s (%s) came and went", box.name, box.ipv4))
