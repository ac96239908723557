"""Plan stage: which submissions to grade, with which kit and settings, and what was already graded."""
