"""PubMed: the E-utilities client, the XML parser and the query checks."""

# PubMed's esearch returns at most the first 9,999 ids of a result, whatever retstart says.
# Here, not in client.py, so that the command line can show it without importing requests.
ESEARCH_CAP = 9_999
