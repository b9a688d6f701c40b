"""Qt item models over a session's records, paged from its capture store."""
