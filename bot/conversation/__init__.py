"""The conversation layer: neutral messages, the dispatcher, routers and flows, languages."""
