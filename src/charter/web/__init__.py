"""The web pages people and staff use: the privacy center (and later the admin console and the
cookie banner). Server-rendered HTML that works without JavaScript."""
