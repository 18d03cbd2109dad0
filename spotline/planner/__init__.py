"""The planner: a city's calls for service, classified and replayed on core's policy."""
