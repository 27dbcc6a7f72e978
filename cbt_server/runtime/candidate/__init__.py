"""What a candidate's connection can do, by job: log in and out (`login`), answer and
flag (`changes`), submit (`submit`), and the state and messages they receive (`views`).

Each function runs inside the caller's transaction (one unit of work per message, or
per group of messages that arrived together), locks the candidate rows first, appends
change events to `events`, and raises or returns domain errors. Answer, flag and submit
check everything before they write anything, so a refused message leaves no trace in the
transaction it shares with others.
"""
