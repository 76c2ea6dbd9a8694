"""The merchant's dashboard at /merchant/ (spec 4.6): what needs an answer now, the requests at
risk of becoming overdue, this month's figures and the last twelve months.

It reads tickets, disputes and penalties together, so it lives on the top floor (site wiring),
above every app it reads: `selectors` (the reads, each scoped by `for_merchant`), `chart` (the
server-rendered SVG), `views` (the page).
"""
