-- pixels.each: run a verb over several containers, keep going past failures, and report
-- them together. One target: its error passes through unchanged. Several: each failure is
-- printed, and the command fails with code "partial" (exit 3) when some succeeded.
local px = require("pixels")

return function(verb, names, fn)
  if #names == 1 then
    return fn(names[1])
  end
  local failed, last = 0, nil
  for _, name in ipairs(names) do
    local ok, err = pcall(fn, name)
    if not ok then
      failed = failed + 1
      last = err
      px.log.error("%s", tostring(err))
    end
  end
  if failed == #names then
    px.fail(string.format("%s: all %d containers failed", verb, failed),
      { code = type(last) == "table" and last.code or "failed" })
  elseif failed > 0 then
    px.fail(string.format("%s: %d of %d containers failed", verb, failed, #names),
      { code = "partial" })
  end
end
