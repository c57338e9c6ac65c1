"""Budget envelopes, equipment plans, quotes, purchase orders, disbursements (funding issue)."""
