"""Self-checking exercises of chapter 06, registered with soundad.exercises.register."""
