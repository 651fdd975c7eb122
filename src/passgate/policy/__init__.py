"""Password rules: passgate's own (checked before the directory is asked) and the
directory's (read to be shown, and to explain its refusals)."""
