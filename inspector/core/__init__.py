"""Records, endpoints, options, clock and errors: the vocabulary every layer shares."""
