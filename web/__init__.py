"""The site's HTTP edge: error pages, response headers, sessions, and what logins leave in the audit
history. It sits on top of every app; none imports it."""
