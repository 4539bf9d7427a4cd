"""Small apps of the kind users point wsconform at, each with one trait the user-app mode must
handle (a lifespan resource, module-level state, two bugs in one route, a task group)."""
