-- Tests of the built-in verbs, run by `go test` (and by `pixels script test builtin/...`) with
-- a fresh simulator per test.

function test_create_prints_the_bare_name(t)
  local r = t:run("create", "dev", "--image", "debian/12", "--cpu", "3")
  t:ok(r.ok, r.stderr)
  t:eq(r.stdout, "dev\n")
  local c = px.get("dev")
  t:eq(c.status, "RUNNING")
  t:eq(c.cpu, 3)
end

function test_list_json_and_tsv(t)
  px.create { name = "a" }
  px.create { name = "b", wait = "running" }
  local r = t:run("list")
  t:ok(r.stdout:match("^a\tRUNNING\t"), r.stdout)
  t:ok(r.stdout:match("\nb\tRUNNING\t"), r.stdout)
  t:ok(t:run("list", "--json").stdout:match('"name": "b"'))
end

function test_stop_start_destroy(t)
  px.create { name = "s" }
  t:ok(t:run("stop", "s").ok)
  t:eq(px.get("s").status, "STOPPED")
  local r = t:run("exec", "s", "--", "true")
  t:eq(r.ok, false)
  t:ok(t:run("start", "s").ok)
  t:eq(px.get("s").status, "RUNNING")
  r = t:run("destroy", "s")
  t:eq(r.error, "busy")
  t:ok(r.stderr:match("stop it or pass %-%-force"), r.stderr)
  t:ok(t:run("destroy", "s", "--force").ok)
  t:eq(px.get("s"), nil)
end

function test_destroy_many_reports_partial(t)
  px.create { name = "one", wait = "running" }
  local r = t:run("destroy", "--force", "one", "ghost")
  t:eq(r.error, "partial")
  t:eq(px.get("one"), nil)
end

function test_checkpoint_verbs(t)
  px.create { name = "c" }
  t:eq(t:run("checkpoint", "create", "c", "--label", "a").stdout, "a\n")
  t:ok(t:run("checkpoint", "list", "c").stdout:match("^a\t"))
  t:ok(t:run("checkpoint", "restore", "c", "a").ok)
  t:ok(t:run("checkpoint", "delete", "c", "a").ok)
  t:eq(#px.checkpoints("c"), 0)
end

function test_strict_options(t)
  local err = t:fails(function() px.create { name = "x", cpus = 2 } end, "invalid")
  t:ok(err.message:match('did you mean "cpu"'), err.message)
  err = t:fails(function() px.create { name = "x", memory = 2048 } end, "invalid")
  t:ok(err.message:match('wants a size string like "2GiB"'), err.message)
  t:fails(function() px.stop("Nope!") end, "usage")
end
