"""Self-checking exercises of chapter 05, registered with soundad.exercises.register."""
