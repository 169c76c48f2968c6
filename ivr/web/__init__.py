"""The aiohttp side: for now the health endpoint; the agent console arrives with issue 3."""
