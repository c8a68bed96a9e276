-- Tests of the example recipes, each against a fresh simulator.

function test_setup_devbox(t)
  local r = t:run("run", "setup-devbox.lua", "--", "--name", "dbx", "--package", "jq")
  t:ok(r.ok, r.stderr)
  t:ok(r.stdout:match("checkpoint\tclean"), r.stdout)
  t:eq(px.checkpoints("dbx")[1].label, "clean")
  local motd = px.read_file("dbx", "/etc/motd")
  t:eq(motd, "devbox dbx, made by pixels\n")
  t:eq(px.exec("dbx", "test -d /home/dev/src").code, 0)
end

function test_setup_devbox_leaves_a_taken_name_alone(t)
  px.create { name = "taken", wait = "running" }
  local r = t:run("run", "setup-devbox.lua", "--", "--name", "taken")
  t:eq(r.ok, false)
  t:eq(r.error, "exists")
  t:eq(px.get("taken").status, "RUNNING")
end

function test_setup_devbox_bad_image(t)
  local r = t:run("run", "setup-devbox.lua", "--", "--name", "bad", "--image", "no/such-image")
  t:eq(r.ok, false)
  t:eq(px.get("bad"), nil)
end

function test_hello(t)
  local r = t:run("run", "hello.lua", "--", "hey")
  t:ok(r.ok, r.stderr)
  t:ok(r.stdout:match("hello from px%-hey"), r.stdout)
  t:eq(px.get("hey"), nil)
end

function test_fleet(t)
  local r = t:run("run", "fleet.lua", "--", "--count", "4", "--prefix", "f")
  t:ok(r.ok, r.stderr)
  t:ok(r.stdout:match("f%-4\tpx%-f%-4"), r.stdout)
  t:eq(#px.list(), 0)
end
