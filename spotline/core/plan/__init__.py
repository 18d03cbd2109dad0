"""The planner's pure parts: classifying call types and counting what a team could take."""
