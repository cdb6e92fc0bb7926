-- wrk script: POST /v1/presign with a JSON body and the bearer token given as the
-- first script argument (wrk ... -s post.lua URL -- TOKEN).
wrk.method = "POST"
wrk.path = "/v1/presign"
wrk.body = '{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
   wrk.headers["Authorization"] = "Bearer " .. args[1]
end
