"""The event kinds, one module per app whose events they are: each registers its renderers
(`notifications.events.event_kind`) and the receivers that queue its events from the app's
signals (`connect`)."""
