"""The domain (instruments, calendar, resolutions, bars, feeds); pure: imports no aiohttp, no app outside market/."""
