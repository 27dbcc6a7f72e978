"""Lab PCs: registration by the lab agent, seat maps, who may log in where."""
