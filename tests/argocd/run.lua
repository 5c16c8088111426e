-- Runs an Argo CD health script as Argo CD does: the object in the global `obj`, the script's
-- return value is the health. Usage: lua5.1 run.lua SCRIPT < object.json; prints the health as JSON.
local cjson = require("cjson")
obj = cjson.decode(io.read("*a"))
local script = assert(loadfile(arg[1]))
local hs = script()
io.write(cjson.encode(hs))
