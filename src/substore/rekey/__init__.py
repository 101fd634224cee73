"""Re-keying the store when phonenumbers' metadata moves (`substore rekey`).

recipes (libphonenumber's migration recipes, packaged as recipes.csv), verdict (one row
read again with the installed phonenumbers), merge (two rows of one person: the import's
rules), report (counts, findings, collisions, CSV), command (the CLI). The use case is
services/rekey.py; its SQL repository/rekey.py and repository/merges.py.
"""
