-- wrk script: the requests of route.lua, each connection pausing a mean of DELAY_MS
-- milliseconds (the fifth script argument, fractional) after each response, to hold
-- the load near a chosen rate (wrk ... -s paced.lua URL -- HEADER VALUE PATH BODY_FILE DELAY_MS).
-- wrk takes whole milliseconds, so the pause is rounded up or down at random to keep
-- the mean.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "route.lua")

local set_route = init
local mean = 0

function init(args)
   set_route(args)
   mean = tonumber(args[5])
end

function delay()
   local whole = math.floor(mean)
   if math.random() < mean - whole then
      return whole + 1
   end
   return whole
end
