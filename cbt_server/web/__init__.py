"""HTTP edges: thin aiohttp handlers that call the core and map its errors."""
