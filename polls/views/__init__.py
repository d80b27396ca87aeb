"""Poll pages and actions: pages (home, create, a poll's pages), voting, owner actions and
"My polls". Each answers htmx with a fragment, a plain form with a redirect or a page, and
a JSON client with JSON."""
