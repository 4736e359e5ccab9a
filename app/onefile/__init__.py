"""The one file (make dist): its launcher, run before shiv unpacks anything; imports nothing of app."""
