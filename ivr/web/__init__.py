"""The aiohttp side: /healthz and the agent console's login, roles and security foundation.

app        make_app: the factory IvrRuntime and the tests build the application with
state      typed AppKeys/RequestKeys and ConsolePolicy (session idle time, cookies, throttle)
guard      session middleware, CSRF checks, require_role / public, cookie helpers
auth       authenticate: login throttle, argon2 check, failure bookkeeping
login      GET/POST /login, POST /logout
pages      GET / (redirect by role) and each role's page
api        GET /api/me
responses  security headers on every response; errors as JSON (/api/*) or as a page
html       the page layout and the stylesheet (no inline style or script: CSP)
"""
