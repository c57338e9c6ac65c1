"""Web screens of the workflow app.

``tasks``: the viewflow task screens (each calls one lifecycle service);
``projects``: the project list and detail pages; ``site``: the viewflow site.
Kept import-free: ``workflow.flows`` imports ``tasks`` while ``projects`` reads
``workflow.flows`` through the selectors.
"""
