"""Staff accounts and access: sign-in, cookie sessions, CSRF, lockout, and the policy.

- `policy.decide(role, duty, action)`: the one yes/no of access control (pure).
- `access.authorize` / `access.authorize_command`: the policy applied to stored facts.
- `web.require(request, action, session_id)`: the gate of every staff HTTP endpoint.
- `ws.authorize_proctor`: the gate of every proctor WebSocket command.
"""
