-- wrk script: each connection alternates POST /api/v1/cities and GET /api/v1/cities/{id} of the city
-- it just created, as one user (the token comes from the TOKEN environment variable).
local token = os.getenv("TOKEN")
local counter = 0
local next_id = nil

request = function()
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if next_id then
    local id = next_id
    next_id = nil
    return wrk.format("GET", "/api/v1/cities/" .. id, headers)
  end
  counter = counter + 1
  return wrk.format("POST", "/api/v1/cities", headers, '{"name":"bench-' .. counter .. '"}')
end

response = function(status, headers, body)
  if status == 201 then
    next_id = string.match(body, '"id":"([^"]+)"')
  end
end
