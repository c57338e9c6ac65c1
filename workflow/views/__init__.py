"""Web screens of the workflow app.

``tasks``: the viewflow task screens (each calls one lifecycle service);
``projects``: the project list and detail pages; ``actions``: the file's own action
screens (resubmit, enrol, open funding, withdraw, suspend, resume); ``site``: the
viewflow site.
Kept import-free: ``workflow.flows`` imports ``tasks`` while ``projects`` reads
``workflow.flows`` through the selectors.
"""
