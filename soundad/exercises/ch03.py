"""Self-checking exercises of chapter 03, registered with soundad.exercises.register."""
