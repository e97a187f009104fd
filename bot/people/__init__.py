"""People and roles: the directory, who may do what, and who is asking."""
