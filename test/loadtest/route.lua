-- wrk script: POST a JSON body to one presignd route with one identity
-- (wrk ... -s route.lua URL -- HEADER VALUE PATH BODY_FILE).
-- HEADER VALUE is the identity: "Authorization" "Bearer TOKEN" for a token or a JWT,
-- or a trusted proxy's user header and the user.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   wrk.headers[args[1]] = args[2]
   wrk.path = args[3]
   local f = assert(io.open(args[4], "rb"))
   wrk.body = f:read("*a")
   f:close()
end
