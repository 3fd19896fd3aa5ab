"""Self-checking exercises of chapter 04, registered with soundad.exercises.register."""
