"""The throwaway directory behind ``passgate dev`` and the test suite."""
