"""Who is calling: tokens and API keys become a :class:`Caller`."""
