"""Self-checking exercises of chapter 01, registered with soundad.exercises.register."""
