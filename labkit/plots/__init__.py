"""Figures of the labs. ``backend`` picks ipympl for students and a static backend for graders."""
